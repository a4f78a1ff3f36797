// Every page path under /h5/ (the server answers index.html for each): the home page, each
// area's pages from its index.js, a "即将开通" page for an area without pages yet.
import { createRouter, createWebHistory } from 'vue-router'

import { areas } from '../areas'
import ComingSoon from './ComingSoon.vue'
import HomePage from './HomePage.vue'
import NotFound from './NotFound.vue'

function areaRoutes(area) {
  if (area.comingSoon) {
    return [{ path: `/${area.key}`, component: ComingSoon, props: { area }, meta: { title: area.title, tab: area.key } }]
  }
  // An area's pages know their area: the back button of a page opened from a link goes there.
  return area.routes.map((route) => ({ ...route, meta: { area: area.key, ...route.meta } }))
}

export const router = createRouter({
  history: createWebHistory('/h5/'),
  routes: [
    { path: '/', component: HomePage, meta: { title: '东南电化', tab: 'home' } },
    ...areas.flatMap(areaRoutes),
    { path: '/:missing(.*)*', component: NotFound, meta: { title: '页面不存在' } },
  ],
  scrollBehavior: (to, from, saved) => saved || { top: 0 },
})

router.afterEach((to) => {
  document.title = to.meta.title || '东南电化'
})
