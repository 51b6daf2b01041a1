// Renders the app icons (public/icons/*.png) from public/favicon.svg with Chromium: `node --import tsx tools/make-icons.ts`.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../e2e/support/browser.ts';
import { repoRoot } from '../e2e/support/build.ts';

const svg = readFileSync(`${repoRoot}/public/favicon.svg`, 'utf8');
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
const page = await browser.newPage();
for (const [name, size, padding] of [['icon-192', 192, 0], ['icon-512', 512, 0], ['icon-maskable-512', 512, 0.1]] as const) {
  await page.setViewportSize({ width: size, height: size });
  // the maskable icon keeps its mark inside the safe zone on a full-bleed background
  const inner = Math.round(size * (1 - 2 * padding));
  await page.setContent(
    `<html><body style="margin:0;background:${padding ? '#1565c0' : 'transparent'};display:grid;place-items:center;width:${size}px;height:${size}px">` +
      `<div style="width:${inner}px;height:${inner}px">${svg.replace('<svg ', `<svg width="${inner}" height="${inner}" `)}</div></body></html>`,
  );
  await page.screenshot({ path: `${repoRoot}/public/icons/${name}.png`, omitBackground: !padding });
}
await browser.close();
