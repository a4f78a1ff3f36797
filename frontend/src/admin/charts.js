// Charts of the admin pages: a <canvas data-chart="{…}"> holds a Chart.js configuration
// (type, data, options) written by the server (templates/admin/_charts.html); Chart.js
// (./chartjs.js) is loaded only by pages that have one.
const drawn = new WeakMap()

let loading = null

/** Draw every chart under ``scope`` (a page, or a part just put in place). */
export async function drawCharts(scope) {
  const canvases = [...scope.querySelectorAll('canvas[data-chart]')]
  if (!canvases.length) return
  loading ??= import('./chartjs.js')
  const { Chart } = await loading
  for (const canvas of canvases) {
    if (canvas.isConnected && !drawn.has(canvas)) drawn.set(canvas, new Chart(canvas, JSON.parse(canvas.dataset.chart)))
  }
}

/** Let go of the charts under ``scope`` before it leaves the page. */
export function dropCharts(scope) {
  for (const canvas of scope.querySelectorAll('canvas[data-chart]')) {
    drawn.get(canvas)?.destroy()
    drawn.delete(canvas)
  }
}
