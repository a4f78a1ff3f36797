// The admin pages' script (web后台), built beside the H5 pages into dist/admin and served by the
// portal at /admin/assets/ (src/portal/views/admin/assets.py), which finds the entry's hashed
// file in the manifest: live parts, charts (Chart.js) and the narrow screen's menu.
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/admin/',
  publicDir: false,
  build: {
    outDir: 'dist/admin',
    assetsDir: 'assets',
    manifest: true,
    // The operators' desktop browsers, and the gate's phones.
    target: ['es2020', 'chrome87', 'edge88', 'firefox78', 'safari14'],
    rolldownOptions: { input: 'src/admin/main.js' },
  },
})
