// The JSON API client of every page: the session cookie authenticates, writes carry the CSRF
// token from GET /api/me (fetched again once when the API says it is stale: 403 csrf), an
// expired session goes through WeChat's silent authorization and comes back to the page the
// user is on, and every failure is an Error with a Chinese message.

/** The API refused: `status`, `code`, `message` (Chinese, for the user) and `fields`. */
export class ApiError extends Error {
  constructor(status, code, message, fields = {}) {
    super(message)
    this.status = status
    this.code = code
    this.fields = fields || {}
  }
}

/** The request did not reach the server, or its answer did not come back: worth a retry. */
export class NetworkError extends Error {
  constructor() {
    super('网络连接失败，请检查网络后重试')
  }
}

let csrfToken = null

/** The token GET /api/me hands to a cookie session; the shell sets it when it reads /api/me. */
export function setCsrfToken(token) {
  csrfToken = token || null
}

/** Where the browser goes when the session is gone: WeChat's web authorization, then back here. */
export function loginUrl(next = window.location.pathname + window.location.search) {
  return '/auth/wechat/login?' + new URLSearchParams({ next })
}

let leaving = false

function reauthorize() {
  if (!leaving) {
    leaving = true
    window.location.assign(loginUrl())
  }
  // The page stays as it is (loading) while the browser leaves it.
  return new Promise(() => {})
}

async function refusal(response) {
  let body = null
  try {
    body = await response.json()
  } catch {
    // A proxy's HTML page or an empty answer: only the status says what happened.
  }
  const error = body && body.error
  if (error && error.message) return new ApiError(response.status, error.code, error.message, error.fields)
  if (response.status >= 500) return new ApiError(response.status, 'server', '服务器繁忙，请稍后再试')
  return new ApiError(response.status, 'unknown', `请求失败（${response.status}），请稍后再试`)
}

/**
 * One API call. `params` become the query string (empty values left out); `body` is sent as
 * JSON; `headers` are added. Resolves to the parsed answer.
 */
export async function request(method, path, { params, body, headers, retried = false } = {}) {
  let url = path
  if (params) {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ''))
    if (query.toString()) url += '?' + query
  }
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } }
  if (method !== 'GET') {
    // A write sent before the shell's own GET /api/me came back fetches the token itself.
    if (!csrfToken) setCsrfToken((await request('GET', '/api/me')).csrf_token)
    init.headers['X-CSRF-Token'] = csrfToken
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
  }
  let response
  try {
    response = await fetch(url, init)
  } catch {
    throw new NetworkError()
  }
  if (response.status === 401) return reauthorize()
  if (!response.ok) {
    const error = await refusal(response)
    // The page outlived its token (a new session, another tab): the form is kept, the token
    // renewed, and the write sent again — refused before anything was done, so it is safe.
    if (error.code === 'csrf' && !retried) {
      setCsrfToken(null)
      return request(method, path, { params, body, headers, retried: true })
    }
    throw error
  }
  try {
    return await response.json()
  } catch {
    throw new NetworkError()
  }
}

export const api = {
  get: (path, params) => request('GET', path, { params }),
  post: (path, body, headers) => request('POST', path, { body, headers }),
  put: (path, body) => request('PUT', path, { body }),
  patch: (path, body) => request('PATCH', path, { body }),
  delete: (path) => request('DELETE', path),
}

/** A random UUID (v4) for an Idempotency-Key, also where crypto.randomUUID is missing. */
export function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID()
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
