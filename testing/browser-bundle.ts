// Bundles one browser module of testing/browser/ (and what it imports) into `outDir/fileName` with Vite, for pages
// that e2e journeys and benches load in Chromium.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export async function bundleForBrowser(entry: string, outDir: string, fileName: string): Promise<void> {
  await build({
    configFile: false,
    root: repoRoot,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, minify: false, lib: { entry: join(repoRoot, entry), formats: ['es'], fileName: () => fileName } },
  });
}
