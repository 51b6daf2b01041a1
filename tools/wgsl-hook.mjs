// Node loader hook: `import src from './x.wgsl'` yields the file's text, as Vite's wgsl plugin does in the browser.
import { register } from 'node:module';
register('./wgsl-loader.mjs', import.meta.url);
