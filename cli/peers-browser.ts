// The Chromium half of `npm run bench -- peers` (cli/bench-peers.ts): bundles testing/browser/peers-page.ts (TabScout
// and transformers.js' web build) with esbuild, serves it with the checkpoint, the ONNX export and onnxruntime-web's
// wasm on 127.0.0.1 (no CDN), and runs both engines in one page on Chromium's WebGPU (SwiftShader here).
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launch } from '../e2e/support/browser.ts';
import { serveStatic } from '../e2e/support/static-server.ts';
import { removeDir } from '../testing/fixtures.ts';
import type { EngineReport, PeersPlan } from '../testing/browser/peers-engines.ts';
import type { PeersPageRequest } from '../testing/browser/peers-page.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export interface BrowserPeersOptions {
  plan: PeersPlan;
  /** TabScout's model folder (package or checkpoint) */
  tabscoutDir: string;
  tabscoutSource: 'package' | 'checkpoint';
  onnxDir: string;
  engines: EngineReport['engine'][];
  log: (s: string) => void;
}

export async function runBrowserPeers(o: BrowserPeersOptions): Promise<EngineReport[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tabscout-peers-page-'));
  try {
    await build({
      entryPoints: [join(repoRoot, 'testing/browser/peers-page.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      loader: { '.wgsl': 'text' },
      outfile: join(dir, 'peers-page.js'),
      logLevel: 'error',
    });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset=utf-8><title>peers bench</title><script type=module src="./peers-page.js"></script>');
    symlinkSync(o.tabscoutDir, join(dir, 'tabscout'));
    symlinkSync(join(o.onnxDir, '..'), join(dir, 'onnx'));
    symlinkSync(join(repoRoot, 'node_modules/onnxruntime-web/dist'), join(dir, 'ort'));
    const server = await serveStatic(dir);
    const browser = await launch({ webgpu: true });
    try {
      browser.page.on('console', (m) => {
        if (m.type() === 'log') o.log(`  [page] ${m.text()}`);
      });
      await browser.page.goto(server.url);
      await browser.page.waitForFunction(() => 'runPeers' in globalThis, undefined, { timeout: 60_000 });
      const base = server.url.endsWith('/') ? server.url : `${server.url}/`;
      const request: PeersPageRequest = {
        plan: o.plan,
        tabscoutUrl: `${base}tabscout/`,
        tabscoutSource: o.tabscoutSource,
        onnxParentUrl: `${base}onnx/`,
        onnxId: basename(o.onnxDir),
        ortUrl: `${base}ort/`,
        engines: o.engines,
      };
      return await browser.page.evaluate((req) => (globalThis as unknown as { runPeers(r: PeersPageRequest): Promise<EngineReport[]> }).runPeers(req), request);
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : e}\n${browser.log.slice(-20).join('\n')}`);
    } finally {
      await browser.close();
      await server.close();
    }
  } finally {
    removeDir(dir);
  }
}
