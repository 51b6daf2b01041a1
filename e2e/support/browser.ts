// Debian's Chromium through playwright-core, with a fresh profile; WebGPU runs on SwiftShader (testing.md §1).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const BASE_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** console output, page errors and worker errors, for failure messages */
  log: string[];
  close(): Promise<void>;
}

export async function launch({ webgpu }: { webgpu: boolean }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'tabscout-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: webgpu ? [...BASE_FLAGS, '--enable-unsafe-webgpu'] : BASE_FLAGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const log: string[] = [];
  page.on('console', (message) => log.push(`[console.${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => log.push(`[pageerror] ${error.stack ?? error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) log.push(`[http ${response.status()}] ${response.url()}`);
  });
  page.on('requestfailed', (request) => log.push(`[requestfailed] ${request.url()} ${request.failure()?.errorText ?? ''}`));
  page.on('worker', (worker) => {
    log.push(`[worker] ${worker.url()}`);
    worker.on('close', () => log.push(`[worker closed] ${worker.url()}`));
  });
  return {
    context,
    page,
    log,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
