// Runs every *.test.ts (unit, kernel and parity tests; e2e journeys have their own runner) with node's test
// runner. Node 20 has no globs in --test, so the files are listed here. Extra arguments go to `node --test`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const skipDirs = new Set(['node_modules', 'dist', 'e2e', '.git', '.gpu', 'public']);

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return skipDirs.has(e.name) || e.name.startsWith('.') ? [] : find(join(dir, e.name));
    return e.name.endsWith('.test.ts') ? [relative(root, join(dir, e.name))] : [];
  });
}

const files = find(root).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './tools/wgsl-hook.mjs', '--test', ...process.argv.slice(2), ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
