// Loading what a page shows, and sending what it changes, with one way of handling failures.
import { closeToast, showFailToast, showLoadingToast, showSuccessToast } from 'vant'
import { onBeforeUnmount, reactive, ref } from 'vue'

import { ApiError } from './api'

/**
 * `state.data` is what `load()` resolved to; `state.error` the failure to show with a retry
 * button (<PageState>); `run()` loads again (pull-to-refresh, retry), `quiet` keeps what is on
 * screen while it does. `every` (ms) reloads quietly while `keepPolling(data)` says so.
 */
export function useLoader(load, { every = 0, keepPolling = () => true } = {}) {
  const state = reactive({ data: null, loading: true, error: null })
  let timer = null
  let alive = true

  async function run({ quiet = false } = {}) {
    clearTimeout(timer)
    if (!quiet) state.loading = true
    try {
      state.data = await load()
      state.error = null
    } catch (error) {
      // A quiet reload that failed keeps the page and tries again on the next tick.
      if (!quiet || !state.data) state.error = error
    } finally {
      state.loading = false
    }
    if (alive && every && state.data && keepPolling(state.data)) {
      timer = setTimeout(() => run({ quiet: true }), every)
    }
  }

  onBeforeUnmount(() => {
    alive = false
    clearTimeout(timer)
  })
  run()
  return { state, run }
}

/** Pull-to-refresh: reloads quietly, then lets the spinner go. */
export function usePullRefresh(run) {
  const refreshing = ref(false)
  async function refresh() {
    await run({ quiet: true })
    refreshing.value = false
  }
  return { refreshing, refresh }
}

/**
 * Older rows of a list paged by id (`next_before`): `loadMore()` appends the page before
 * `state.data.next` to `state.data[name]`; `more` binds to <van-list>.
 */
export function useMore(state, name, fetchPage) {
  const more = reactive({ loading: false, error: false })
  async function loadMore() {
    if (!state.data?.next) return
    more.loading = true
    more.error = false
    try {
      const page = await fetchPage(state.data.next)
      state.data[name].push(...page[name])
      state.data.next = page.next_before
    } catch {
      more.error = true
    } finally {
      more.loading = false
    }
  }
  return { more, loadMore }
}

/**
 * A form's field problems as the API names them ({field: message}). `field(name)` binds a field
 * to its name and its problem, which goes as the field changes: `v-bind="field('mobile')"`.
 */
export function useFieldErrors() {
  const errors = ref({})
  const clear = (name) => delete errors.value[name]
  const field = (name) => ({ name, errorMessage: errors.value[name] || '', 'onUpdate:modelValue': () => clear(name) })
  return { errors, clear, field }
}

/**
 * Send a change: a loading toast while it travels, `success` as a toast after. A refusal with
 * field problems returns them ({field: message}) for the form to show under its fields; any
 * other refusal or a network failure is a toast, and the form stays as it was for another try.
 * `handles(error)` true means the page explains that refusal itself (a dialog). Resolves to
 * {ok, result, fields, error}.
 */
export async function submit(send, { loading = '正在提交…', success = '', handles = () => false } = {}) {
  showLoadingToast({ message: loading, forbidClick: true, duration: 0 })
  try {
    const result = await send()
    if (success) showSuccessToast(success)
    else closeToast()
    return { ok: true, result, fields: {} }
  } catch (error) {
    const fields = error instanceof ApiError ? error.fields || {} : {}
    const named = Object.keys(fields).filter((name) => typeof fields[name] === 'string')
    if (handles(error)) {
      closeToast()
    } else if (named.length) {
      showFailToast(error.message)
    } else {
      closeToast()
      showFailToast({ message: error.message, duration: 3000 })
    }
    return { ok: false, fields, error }
  }
}
