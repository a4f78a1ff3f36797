// Who is using the pages: GET /api/me, read once per page load and again after a change.
import { reactive } from 'vue'

import { api, setCsrfToken } from './api'

// WeChat's placeholder nickname: never shown as if it were the user's name.
const PLACEHOLDER_NAMES = new Set(['微信用户'])

export const session = reactive({
  /** The answer of GET /api/me, or null before it came. */
  me: null,
})

let pending = null

/** Read /api/me (once, unless `force`): the user, their bindings and the CSRF token. */
export function loadMe({ force = false } = {}) {
  if (!pending || force) {
    pending = api.get('/api/me').then(
      (me) => {
        session.me = me
        setCsrfToken(me.csrf_token)
        return me
      },
      (error) => {
        pending = null
        throw error
      },
    )
  }
  return pending
}

/** The name to greet the user with once known (a driver's registered name first), or ''. */
export function userName(me = session.me) {
  if (!me) return ''
  const bound = Object.values(me.bindings || {}).find((binding) => binding && binding.name)
  if (bound) return bound.name
  const name = (me.display_name || '').trim()
  return PLACEHOLDER_NAMES.has(name) ? '' : name
}
