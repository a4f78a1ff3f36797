// Live parts of an admin page (src/portal/views/admin/live.py describes the server's side).
//
// The page's main element names its endpoint: data-live="<url>", data-live-every="<seconds>".
// Each answer {"updated_at", "parts": {name: html}} replaces the page's [data-part=name]
// elements and says when the data was read (更新于 …). With data-live-while-pending the page
// asks only while it shows something pending (.state-pending, [data-pending]), waiting longer
// each time, up to half a minute. A part with a field the operator has typed into is left as it
// is until they are done. A refresh that fails keeps what is shown and says so; an expired
// admin session stops the refreshes and offers the login.
import { drawCharts, dropCharts } from './charts.js'

const PENDING = '.state-pending, [data-pending]'
const LONGEST_WAIT = 30_000

export function startLive(root) {
  const url = root.dataset.live
  const every = Number(root.dataset.liveEvery || 15) * 1000
  const whilePending = 'liveWhilePending' in root.dataset
  const status = root.querySelector('[data-live-status]')
  const shown = new Map() // part name → the html last put in place
  let wait = every
  let timer = null
  let lastRead = status?.textContent.replace('更新于 ', '') || ''

  const pending = () => root.querySelector(PENDING) !== null

  function say(text, kind = '') {
    if (!status) return
    status.className = `live-status ${kind}`.trim()
    status.textContent = text
  }

  function schedule() {
    clearTimeout(timer)
    timer = null
    if (document.hidden) return // again when the page is looked at (visibilitychange)
    if (whilePending) {
      if (!pending()) return
      say('同步中，完成后本页自动更新')
    }
    timer = setTimeout(refresh, wait)
    if (whilePending) wait = Math.min(Math.round(wait * 1.5), LONGEST_WAIT)
  }

  const typedInto = (part) => [...part.querySelectorAll('input, textarea')].some((field) => field.value !== field.defaultValue)

  function put(name, html) {
    const old = root.querySelector(`[data-part="${CSS.escape(name)}"]`)
    if (!old || shown.get(name) === html || typedInto(old)) return
    const template = document.createElement('template')
    template.innerHTML = html
    const fresh = template.content.firstElementChild
    if (!fresh) return
    dropCharts(old)
    old.replaceWith(fresh)
    shown.set(name, html)
    drawCharts(fresh)
  }

  function expired() {
    const login = `/admin/login?next=${encodeURIComponent(location.pathname + location.search)}`
    say('', 'expired')
    status?.append('登录已过期，页面不再更新。请', Object.assign(document.createElement('a'), { href: login, textContent: '重新登录' }))
  }

  async function refresh() {
    let answer
    try {
      // A login redirect is not followed: it means the admin session has expired.
      answer = await fetch(url, { headers: { Accept: 'application/json' }, redirect: 'manual', cache: 'no-store' })
    } catch {
      return failed('网络连接失败')
    }
    if (answer.type === 'opaqueredirect' || answer.status === 401) return expired()
    if (answer.status === 403) return say('您已没有查看本页的权限，页面不再更新', 'expired')
    let body
    try {
      if (!answer.ok) throw new Error(`服务器返回 ${answer.status}`)
      body = await answer.json()
    } catch (error) {
      return failed(error.message.startsWith('服务器') ? error.message : '服务器的回答无法读取')
    }
    for (const [name, html] of Object.entries(body.parts)) put(name, html)
    lastRead = body.updated_at
    say(`更新于 ${lastRead}`)
    schedule()
  }

  function failed(reason) {
    say(`刷新失败（${reason}），显示的是 ${lastRead || '打开页面时'} 的数据，稍后自动重试`, 'failed')
    schedule()
  }

  document.addEventListener('visibilitychange', () => {
    const stopped = status?.classList.contains('expired') || (whilePending && !pending())
    if (!document.hidden && timer === null && !stopped) refresh()
  })
  schedule()
}
