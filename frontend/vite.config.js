// The Official Account's H5 pages, served by the portal at /h5/ (README, "The H5 front end").
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// `npm run dev` serves the pages with hot reload and hands every server path to the app
// (`make run`, or PORTAL_DEV_URL).
const portal = process.env.PORTAL_DEV_URL || 'http://127.0.0.1:6543'

export default defineConfig({
  base: '/h5/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // WeChat's in-app browsers: recent Android WebViews and iOS 14+ WKWebView.
    target: ['es2020', 'chrome87', 'safari14'],
  },
  server: {
    // The browser's Host is kept: the app's redirects (login) come back to this server.
    proxy: Object.fromEntries(['/api', '/auth', '/sim'].map((path) => [path, { target: portal, changeOrigin: false }])),
  },
})
