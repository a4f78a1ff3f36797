// 智慧物流 for drivers (requirements 3.2): every function over the JSON API.
import DriverState from './DriverState.vue'

const page = (component, title, parent = '/logistics') => ({ component, meta: { title, parent } })

export default {
  key: 'logistics',
  title: '智慧物流',
  icon: 'logistics',
  order: 1,
  HomeCard: DriverState,
  routes: [
    { path: '/logistics', component: () => import('./LogisticsHome.vue'), meta: { title: '智慧物流', tab: 'logistics' } },
    { path: '/logistics/driver', ...page(() => import('./DriverPage.vue'), '人员信息登记') },
    { path: '/logistics/vehicles', ...page(() => import('./VehiclesPage.vue'), '我的车辆') },
    { path: '/logistics/vehicles/new', ...page(() => import('./VehicleForm.vue'), '车辆信息登记', '/logistics/vehicles') },
    { path: '/logistics/vehicles/:id(\\d+)/edit', ...page(() => import('./VehicleForm.vue'), '修改车辆信息', '/logistics/vehicles') },
    { path: '/logistics/entry-reports', ...page(() => import('./EntryReportsPage.vue'), '车辆入场报备') },
    { path: '/logistics/bookings/new', ...page(() => import('./BookingForm.vue'), '提送货登记') },
    { path: '/logistics/bookings', ...page(() => import('./BookingsPage.vue'), '我的登记') },
    { path: '/logistics/bookings/:id(\\d+)', ...page(() => import('./BookingDetail.vue'), '登记详情', '/logistics/bookings') },
    { path: '/logistics/bookings/:id(\\d+)/result', ...page(() => import('./BookingResult.vue'), '登记结果', '/logistics/bookings') },
    { path: '/logistics/queue', ...page(() => import('./QueuePage.vue'), '排队信息') },
    { path: '/logistics/orders', ...page(() => import('./OrdersPage.vue'), '单据查询') },
    { path: '/logistics/orders/:orderNo/sign', ...page(() => import('./SignPage.vue'), '到货签收', '/logistics/orders') },
  ],
}
