// The built app served on 127.0.0.1 and a Chromium to open it, for a journey's before/after hooks.
import { launch, type Browser } from './browser.ts';
import { builtApp } from './build.ts';
import { serveStatic, type StaticServer } from './static-server.ts';

export async function openApp(webgpu = true): Promise<{ server: StaticServer; browser: Browser }> {
  const server = await serveStatic(builtApp());
  return { server, browser: await launch({ webgpu }) };
}

export async function closeApp(server?: StaticServer, browser?: Browser): Promise<void> {
  await browser?.close();
  await server?.close();
}
