// The parts of Chart.js the admin's charts use (bar charts), set up once; loaded on its own by
// the pages that have a chart.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js'

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip)
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily
Chart.defaults.maintainAspectRatio = false
// Refreshed every few seconds: bars that grow again each time would only distract.
Chart.defaults.animation = false
Chart.defaults.plugins.legend.position = 'bottom'

export { Chart }
