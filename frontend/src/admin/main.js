// The admin pages' script: the narrow screen's menu, charts, and the live parts of a page.
// The pages are rendered by the server and work without it; it only adds to them.
import { drawCharts } from './charts.js'
import { startLive } from './live.js'

// Below 768 px the navigation folds behind the 菜单 button (the layout's CSS).
const menu = document.querySelector('.menu-button')
menu?.addEventListener('click', () => {
  const open = menu.closest('nav').classList.toggle('open')
  menu.setAttribute('aria-expanded', String(open))
})

drawCharts(document)

const live = document.querySelector('[data-live]')
if (live) startLive(live)
