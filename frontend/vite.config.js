// The Official Account's H5 pages, served by the portal at /h5/ (README, "The H5 front end").
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// `npm run dev` serves the pages with hot reload and hands every server path to `make run`.
const portal = 'http://127.0.0.1:6543'

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
    proxy: { '/api': portal, '/auth': portal, '/sim': portal },
  },
})
