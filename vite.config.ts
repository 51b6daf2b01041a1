// Vite build of the static app: React UI on the main thread, the engine in an ES-module Web Worker.
import { readFile } from 'node:fs/promises';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/** `import src from './x.wgsl'` yields the file's text (Node does the same through tools/wgsl-loader.mjs). */
function wgsl(): Plugin {
  return {
    name: 'tabscout-wgsl',
    enforce: 'pre',
    async load(id) {
      const path = id.split('?')[0];
      if (!path.endsWith('.wgsl')) return null;
      this.addWatchFile(path);
      const text = await readFile(path, 'utf8');
      return { code: `export default ${JSON.stringify(text)};`, map: null };
    },
  };
}

/**
 * The engine uses transformers.js only for its tokenizers and chat templates. Its ONNX backend
 * (`onnxruntime-web/webgpu`, ~27 MB of wasm) is never called, so it is replaced by a stub that fails loudly if
 * something does call it. A page that compares against ORT-web side by side should import onnxruntime-web itself.
 */
function withoutOnnxRuntime(): Plugin {
  const stub = '\0tabscout:onnxruntime-web-stub';
  return {
    name: 'tabscout-no-onnxruntime',
    enforce: 'pre',
    resolveId(source) {
      return source === 'onnxruntime-web/webgpu' ? stub : null;
    },
    load(id) {
      if (id !== stub) return null;
      return [
        "export { Tensor } from 'onnxruntime-common';",
        'export const env = {};',
        'export class InferenceSession {',
        "  static async create() { throw new Error('onnxruntime-web is not bundled in TabScout (tokenizer-only use of transformers.js)'); }",
        '}',
      ].join('\n');
    },
  };
}

const host = '127.0.0.1';

export default defineConfig({
  // Relative asset URLs, so the build works from any sub-path (GitHub Pages, an iframe host, file servers).
  base: './',
  // No SPA fallback: a missing file must be a 404 (the loader probes optional model files such as
  // model.safetensors.index.json), never index.html with status 200.
  appType: 'mpa',
  plugins: [wgsl(), withoutOnnxRuntime(), react()],
  worker: {
    format: 'es',
    plugins: () => [wgsl(), withoutOnnxRuntime()],
  },
  // Served unbundled in dev so that its onnxruntime-web import goes through the stub above.
  optimizeDeps: {
    exclude: ['@huggingface/transformers'],
    include: ['onnxruntime-common'],
  },
  build: {
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 4096,
  },
  server: { host, port: 5173 },
  preview: { host, port: 4173 },
});
