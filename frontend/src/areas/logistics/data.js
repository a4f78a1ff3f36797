// What several logistics pages read: the driver's state, products, lanes.
import { api } from '../../shell/api'
import { ACTIVE } from './labels'

/** The active products ({code: name}) and the booking rules that come with them. */
export async function loadProducts() {
  const answer = await api.get('/api/logistics/products')
  return { ...answer, names: Object.fromEntries(answer.products.map((p) => [p.code, p.name])) }
}

/**
 * The driver's state for the home page and the area's landing page: the profile (null before
 * 人员信息登记), vehicles, the next booking — the active one due first — and how many days
 * before an expiry a certificate is flagged.
 */
export async function loadDriverState() {
  const { driver, expiry_warning_days: warningDays } = await api.get('/api/logistics/driver')
  if (!driver) return { driver: null, vehicles: [], next: null, warningDays }
  const [{ vehicles }, { bookings }] = await Promise.all([
    api.get('/api/logistics/vehicles'),
    api.get('/api/logistics/bookings', { limit: 50 }),
  ])
  const active = bookings.filter((b) => ACTIVE.includes(b.status))
  active.sort((a, b) => new Date(a.planned_arrival_at) - new Date(b.planned_arrival_at))
  return { driver, vehicles, next: active[0] || null, warningDays }
}
