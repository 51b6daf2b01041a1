// Runs the browser journeys: builds the app once, then every e2e/*.e2e.ts file with node's test runner, one at a
// time (each drives its own Chromium on the CPU). Arguments naming e2e files run only those; the others go to
// `node --test` (e.g. --test-name-pattern).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const chosen = args.filter((arg) => arg.endsWith('.e2e.ts'));
const files = chosen.length
  ? chosen
  : readdirSync(join(root, 'e2e'))
      .filter((name) => name.endsWith('.e2e.ts'))
      .sort()
      .map((name) => join('e2e', name));

const dist = mkdtempSync(join(tmpdir(), 'tabscout-e2e-dist-'));
const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
const build = spawnSync(process.execPath, [vite, 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) {
  console.error(`e2e: vite build failed (exit ${build.status})`);
  process.exit(1);
}

const test = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--import', './tools/wgsl-hook.mjs', '--test', '--test-concurrency=1', ...args.filter((arg) => !arg.endsWith('.e2e.ts')), ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TABSCOUT_E2E_DIST: dist } },
);
rmSync(dist, { recursive: true, force: true });
process.exit(test.status ?? 1);
