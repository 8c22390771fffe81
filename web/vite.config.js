// Vite config for the siyu console. The build goes to web/dist, which the C
// server serves at / (index.html fallback for client-side routes). During
// `npm run dev` the API is proxied to a running `siyu serve` (SIYU_API,
// default http://127.0.0.1:8080) so that cookies stay same-origin.
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

const api = process.env.SIYU_API || 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      output: {
        // Long-lived hashed chunks for the big libraries, so a console change
        // does not invalidate them in the browser cache.
        manualChunks(id) {
          if (id.includes('node_modules/element-plus') || id.includes('node_modules/@element-plus')) return 'element-plus';
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts';
          if (id.includes('node_modules/')) return 'vendor';
          return undefined;
        },
      },
    },
  },
  server: {
    proxy: { '/api': api, '/healthz': api },
  },
});
