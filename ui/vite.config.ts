import { defineConfig } from 'vite';

export default defineConfig({
  // Relative asset URLs so the built UI works wherever the server mounts it.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
});
