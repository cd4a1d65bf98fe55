import { defineConfig } from 'vite';

/** Where `npm run dev` forwards `/api` (HTTP and WebSocket): the BFF. */
const bffUrl = process.env.CADS_BFF_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: import.meta.dirname,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/api': { target: bffUrl, ws: true },
    },
  },
});
