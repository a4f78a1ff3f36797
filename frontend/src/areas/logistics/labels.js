// How smart-logistics states look: tag colours, the visit's steps, certificate warnings.
import { daysUntil } from '../../shell/format'

/** Van-tag props per booking status (the label itself comes from the API's status_label). */
export const STATUS_TAGS = {
  checking: { type: 'warning' },
  registered: { type: 'success' },
  rejected: { type: 'danger' },
  entered: { type: 'primary' },
  loading: { type: 'primary' },
  loaded: { type: 'primary' },
  completed: { type: 'success', plain: true },
  cancelled: { color: '#969799' },
  expired: { type: 'danger', plain: true },
}

/** Bookings still on their way through the plant (the next booking is one of these). */
export const ACTIVE = ['checking', 'registered', 'entered', 'loading', 'loaded']
/** Bookings that ended without a visit: the reason is always shown. */
export const ENDED = ['rejected', 'cancelled', 'expired']
/** Bookings whose truck is in the plant or has been. */
const VISIT = ['entered', 'loading', 'loaded', 'completed']
/** A driver may cancel these. */
export const CANCELLABLE = ['checking', 'registered']

export const SYNC_TAGS = {
  pending: { type: 'warning', plain: true },
  synced: { type: 'success', plain: true },
  failed: { type: 'danger', plain: true },
}

export const ORDER_TAGS = {
  created: { type: 'default' },
  shipped: { type: 'warning' },
  signed: { type: 'success' },
}

export const LANE_TAGS = {
  idle: { type: 'success' },
  loading: { type: 'primary' },
  maintenance: { type: 'warning' },
  closed: { color: '#969799' },
}

/**
 * {level: 'danger'|'warn', text} for a certificate's expiry date, or null when far off:
 * `warningDays` is the API's `expiry_warning_days` (the plant's rule, as the admin pages flag it).
 */
export function expiryWarning(date, what, warningDays) {
  if (!date) return null
  const days = daysUntil(date)
  if (days < 0) return { level: 'danger', text: `${what}已于 ${date} 过期，请尽快更新` }
  if (days === 0) return { level: 'danger', text: `${what}今天到期，请尽快更新` }
  if (days <= warningDays) return { level: 'warn', text: `${what}将于 ${date} 到期（还剩 ${days} 天）` }
  return null
}

/**
 * The visit as steps: 已登记 → 已入厂 → 已叫号（装车道）→ 装车中 → 已装车 → 已出厂, each with the
 * time of its timeline entry. `active` is the last step reached.
 */
export function visitSteps(booking) {
  const at = (...kinds) => {
    const event = booking.timeline.find((e) => kinds.includes(e.kind))
    return event ? event.at : null
  }
  const lane = booking.queue.lane_name || booking.queue.lane_code || ''
  const steps = [
    { title: '已登记', at: at('registered'), reached: ['registered', ...VISIT] },
    { title: '已入厂', at: at('truck.entered'), reached: VISIT },
    { title: lane ? `已叫号（${lane}）` : '已叫号', at: booking.queue.called_at || at('called'), reached: ['loading', 'loaded', 'completed'] },
    { title: '装车中', at: at('loading.started'), reached: ['loading', 'loaded', 'completed'] },
    { title: '已装车', at: at('truck.loaded', 'order'), reached: ['loaded', 'completed'] },
    { title: '已出厂', at: at('truck.exited'), reached: ['completed'] },
  ]
  let active = -1
  steps.forEach((step, index) => {
    if (step.at || step.reached.includes(booking.status)) active = index
  })
  return { steps, active }
}
