// Times in Beijing time and quantities in tonnes, as every page shows them. The API speaks
// ISO 8601 instants with an offset and integer kilograms.

// China keeps one offset all year (no daylight saving): UTC+8.
const BEIJING_OFFSET_MS = 8 * 3600 * 1000
const WEEKDAYS = ['日', '一', '二', '三', '四', '五', '六']

const pad = (n) => String(n).padStart(2, '0')

/** The wall-clock fields of an instant in Beijing. */
export function beijingParts(instant) {
  const shifted = new Date(new Date(instant).getTime() + BEIJING_OFFSET_MS)
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    minute: shifted.getUTCMinutes(),
    weekday: shifted.getUTCDay(),
  }
}

/** `2026-11-26` for a date in Beijing; today when no instant is given. */
export function beijingDate(instant = Date.now()) {
  const p = beijingParts(instant)
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`
}

/** `2026-11-26 09:00` (or `11-26 09:00` with `short`) in Beijing time; '' for nothing. */
export function formatTime(value, { short = false } = {}) {
  if (!value) return ''
  const p = beijingParts(value)
  const day = short ? `${pad(p.month)}-${pad(p.day)}` : `${p.year}-${pad(p.month)}-${pad(p.day)}`
  return `${day} ${pad(p.hour)}:${pad(p.minute)}`
}

/** The ISO instant of a Beijing wall-clock time: `2026-11-26T09:00:00+08:00`. */
export function beijingInstant(date, hour, minute) {
  return `${date}T${pad(hour)}:${pad(minute)}:00+08:00`
}

/** A `YYYY-MM-DD` date `days` later. */
export function addDays(date, days) {
  const [y, m, d] = date.split('-').map(Number)
  const next = new Date(Date.UTC(y, m - 1, d + days))
  return `${next.getUTCFullYear()}-${pad(next.getUTCMonth() + 1)}-${pad(next.getUTCDate())}`
}

/** Whole days from today (Beijing) to a `YYYY-MM-DD` date; negative once it has passed. */
export function daysUntil(date) {
  const [y, m, d] = date.split('-').map(Number)
  const [ty, tm, td] = beijingDate().split('-').map(Number)
  return Math.round((Date.UTC(y, m - 1, d) - Date.UTC(ty, tm - 1, td)) / 86400000)
}

/** `11月26日 周四` for a `YYYY-MM-DD` date, with 今天 / 明天 / 后天 in front when it is. */
export function dayLabel(date) {
  const [y, m, d] = date.split('-').map(Number)
  const weekday = WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]
  const near = ['今天', '明天', '后天'][daysUntil(date)]
  return `${near ? near + ' ' : ''}${m}月${d}日 周${weekday}`
}

/** What is left until an instant: `2小时05分`, `12分钟`, or null once it has passed. */
export function countdown(until, now = Date.now()) {
  const left = new Date(until).getTime() - now
  if (left <= 0) return null
  const minutes = Math.ceil(left / 60000)
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const rest = minutes % 60
  if (days) return `${days}天${hours}小时`
  if (hours) return `${hours}小时${pad(rest)}分`
  return `${rest}分钟`
}

/** Kilograms shown in tonnes: 25000 → `25`, 24980 → `24.98`. */
export function tonnes(kg) {
  if (kg === null || kg === undefined) return ''
  return String(Number((kg / 1000).toFixed(3)))
}

/**
 * Tonnes typed by a person → integer kilograms, or null when it is no positive number with at
 * most three decimals (a kilogram is the API's unit).
 */
export function toKg(text) {
  const value = String(text ?? '').trim()
  if (!/^\d+(\.\d{1,3})?$/.test(value)) return null
  const kg = Math.round(Number(value) * 1000)
  return kg > 0 ? kg : null
}

/** A tonnes input's formatter: digits and at most three decimals, as a kilogram is the unit. */
export function tonnesInput(value) {
  return value.replace(/^(\d*\.\d{0,3}).*$/, '$1')
}
