// The expert MLP bench in its quick form (SwiftShader: the figures mean nothing), through the CLI, so the command the
// lead runs on the H200 cannot rot: gate+up and down are checked against the CPU before they are timed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('npm run bench -- --experts --quick --json checks and times gate+up and down', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './tools/wgsl-hook.mjs', 'cli/bench.ts', '--experts', '--quick', '--json'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  assert.equal(run.status, 0, `bench failed:\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  const report = JSON.parse(lines[lines.length - 1]);
  assert.ok(report.rooflineGBps > 0);
  assert.deepEqual([report.hidden, report.ffn, report.experts], [256, 128, 4]);
  const kernels = report.results.map((r: { kernel: string; variant: string }) => `${r.kernel}: ${r.variant.split(' ')[0]}`);
  const expected = report.integerActivations ? ['gate+up: default', 'gate+up: WG128/CT64/R8,', 'down: default'] : ['gate+up: default', 'down: default'];
  assert.deepEqual(kernels, expected);
  for (const r of report.results) {
    assert.ok(r.us > 0 && r.GBps > 0 && r.ofRoofline > 0 && r.sizedRooflineGBps > 0, JSON.stringify(r));
    // routed + shared expert: gate and up rows of FFN 128 on hidden 256 (q4: 18 bytes per 32 weights), or down rows
    assert.equal(r.bytes, r.kernel === 'gate+up' ? 2 * 2 * 128 * 256 * 18 / 32 : 2 * 256 * 128 * 18 / 32);
  }
});
