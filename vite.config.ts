// Vite build of the static app: React UI on the main thread, the engine in an ES-module Web Worker; and, in the same
// build, the ES-module library (dist/lib/tabscout.js, see library() below and docs/API.md).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { build, defineConfig, type LogLevel, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';
import { BUILT_IN_MODEL_PATH } from './lib/default-model.ts';

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

/**
 * The ES-module library (lib/tabscout.ts: createEngine + OpenAI-style chat completions) is built by the same
 * `vite build`, after the app, into <outDir>/lib/: tabscout.js, its worker bundle and tabscout.d.ts. It is a second,
 * self-contained build (library mode: one entry, exports kept) over the same worker.
 */
function library(): Plugin {
  let outDir = '';
  let root = '';
  let logLevel: LogLevel = 'info';
  return {
    name: 'tabscout-library',
    apply: 'build',
    configResolved(config) {
      root = config.root;
      outDir = resolve(config.root, config.build.outDir);
      logLevel = config.logLevel ?? 'info';
    },
    async closeBundle() {
      const libDir = resolve(outDir, 'lib');
      await build({
        configFile: false,
        root,
        base: './',
        logLevel,
        plugins: [wgsl(), withoutOnnxRuntime()],
        worker: { format: 'es', plugins: () => [wgsl(), withoutOnnxRuntime()] },
        build: {
          outDir: libDir,
          emptyOutDir: true,
          copyPublicDir: false,
          target: 'es2022',
          sourcemap: true,
          chunkSizeWarningLimit: 4096,
          lib: { entry: resolve(root, 'lib/tabscout.ts'), formats: ['es'], fileName: () => 'tabscout.js' },
        },
      });
      const { emitDeclarations } = await import('./tools/lib-declarations.ts');
      emitDeclarations(resolve(root, 'lib/tabscout.ts'), libDir);
    },
  };
}

const host = '127.0.0.1';

/**
 * The offline PWA: a Workbox service worker that precaches the app shell, the worker bundle and the embedded
 * default model, and a web app manifest. `registerType: 'prompt'`: a new deployment waits until the user accepts
 * the "update available" prompt (app/UpdatePrompt.tsx).
 */
const pwa = VitePWA({
  registerType: 'prompt',
  injectRegister: false,
  includeAssets: ['favicon.svg', 'icons/*.png', 'embed.js'],
  manifest: {
    id: './',
    name: 'TabScout: Llama 4 in your browser',
    short_name: 'TabScout',
    description: 'Llama 4 running entirely in this browser tab on WebGPU; works offline with the built-in model.',
    start_url: './',
    scope: './',
    display: 'standalone',
    background_color: '#0f1720',
    theme_color: '#1976d2',
    icons: [
      { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png' },
      { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png' },
      { src: 'icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
      { src: 'favicon.svg', sizes: 'any', type: 'image/svg+xml' },
    ],
  },
  workbox: {
    globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}', `${BUILT_IN_MODEL_PATH}*`],
    // the library (lib/: tabscout.js and its own worker) is for other pages, not part of the app's offline shell
    globIgnores: ['**/*.map', 'lib/**'],
    // the worker bundle (~0.5 MB) and the built-in model (tabscout-tiny: model.safetensors 15.1 MB; 16.7 MB precached
    // in all) are precached too; Workbox skips a larger file with only a warning, so this limit must stay above the
    // model's safetensors (e2e/offline.e2e.ts fails if it does not)
    maximumFileSizeToCacheInBytes: 24 * 1024 * 1024,
    // pages carry settings in their query (?temperature=0…): match the precached page whatever the query
    ignoreURLParametersMatching: [/.*/],
    // no SPA fallback: every page is a real file, and a missing file must stay a 404
    navigateFallback: null,
    cleanupOutdatedCaches: true,
    clientsClaim: true,
    runtimeCaching: [
      {
        // Offline, a model file that is not precached (the loader probes optional ones such as
        // model.safetensors.index.json) is answered 404, as the server would, instead of a network error.
        urlPattern: ({ url, sameOrigin }) => sameOrigin && url.pathname.includes('/models/'),
        handler: 'NetworkOnly',
        options: {
          plugins: [{ handlerDidError: async () => new Response('Not available offline', { status: 404, statusText: 'Not Found' }) }],
        },
      },
    ],
  },
});

export default defineConfig({
  // Relative asset URLs, so the build works from any sub-path (GitHub Pages, an iframe host, file servers).
  base: './',
  // No SPA fallback: a missing file must be a 404 (the loader probes optional model files such as
  // model.safetensors.index.json), never index.html with status 200.
  appType: 'mpa',
  // Vite's dependency cache; the dev-server journey points it at an empty temporary folder (a fresh clone's state).
  cacheDir: process.env.TABSCOUT_VITE_CACHE_DIR || 'node_modules/.vite',
  plugins: [wgsl(), withoutOnnxRuntime(), react(), pwa, library()],
  worker: {
    format: 'es',
    plugins: () => [wgsl(), withoutOnnxRuntime()],
  },
  // The dev server pre-bundles dependencies into cacheDir. Its scanner starts from the pages and the worker entry,
  // and every dependency the page or the worker imports is listed, so that a first start (empty cache) never finds
  // one late: a late find re-bundles and reloads the page, which kills the worker in the middle of loading the model.
  // transformers.js is served unbundled so that its onnxruntime-web import goes through the stub above.
  optimizeDeps: {
    entries: ['index.html', 'widget.html', 'worker/worker.ts'],
    exclude: ['@huggingface/transformers'],
    include: ['comlink', 'idb-keyval', 'dompurify', 'marked', 'onnxruntime-common', 'react', 'react-dom/client', 'react/jsx-dev-runtime', 'workbox-window'],
  },
  build: {
    // two pages from one build: the app and the embeddable widget (public/embed.js inserts it as an iframe)
    rollupOptions: { input: { main: 'index.html', widget: 'widget.html' } },
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 4096,
  },
  // warm-up: the page's and the worker's modules are transformed before the browser asks for them
  server: { host, port: 5173, warmup: { clientFiles: ['./app/main.tsx', './app/widget/main.tsx', './worker/worker.ts'] } },
  preview: { host, port: 4173 },
});
