// The console is served by modelreg: the page at / (app/http/pages.py), its files under /static/console/.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: __dirname,
  base: '/static/console/',
  plugins: [react()],
  build: {
    outDir: '../app/web/console',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run console:dev`: Vite on 5173 with /graphql, /auth and /api proxied to `./dev serve` on 8000.
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:8000', ws: true },
      '/auth': 'http://127.0.0.1:8000',
      '/api': 'http://127.0.0.1:8000',
    },
  },
});
