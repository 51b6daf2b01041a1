// Runs `npm run bench -- <bench> … --json` as CI would and gives its report (the last line of stdout).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export function benchJson(bench: string, args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './tools/wgsl-hook.mjs', 'cli/bench.ts', bench, ...args, '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.status, 0, `bench failed:\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}
