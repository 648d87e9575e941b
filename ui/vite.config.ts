import { defineConfig } from 'vite';

export default defineConfig({
  // Absolute asset URLs: the same index.html answers nested routes such as /trace/{id}, where
  // a relative `./assets/…` would resolve under /trace/.
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
});
