// The business areas of the Official Account, each a folder here whose index.js exports
//
//   { key, title, icon, order,   the tab: /h5/<key>, its Vant icon and place
//     routes,                    its pages (paths under /<key>), or, until they exist,
//     comingSoon,                { summary } for a "即将开通" page,
//     HomeCard }                 the user's state in this area on the home page (optional)
//
// The shell (router, tabbar, home page) reads this list: a new area slots in by adding its
// folder, and an area's pages by filling in its own index.js.
const modules = import.meta.glob('./*/index.js', { eager: true })

export const areas = Object.values(modules)
  .map((module) => module.default)
  .sort((a, b) => a.order - b.order)
