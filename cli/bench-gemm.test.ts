// The GEMM bench in its quick form (SwiftShader: the figures mean nothing), through the CLI, so the command the lead
// runs on the H200 cannot rot: every variant is checked against the CPU before it is timed, and the JSON report holds
// the old path, the built-in choice and each item tile for every shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('npm run bench -- --gemm --quick --json reports every variant of every shape with sane figures', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './tools/wgsl-hook.mjs', 'cli/bench.ts', '--gemm', '--quick', '--json'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  assert.equal(run.status, 0, `bench failed:\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  const report = JSON.parse(lines[lines.length - 1]);
  assert.ok(report.fmaTflops > 0);
  const shapes = new Set(report.results.map((r: { shape: string }) => r.shape));
  assert.equal(shapes.size, 2, 'a dense shape and an expert shape');
  for (const shape of shapes) {
    const rs = report.results.filter((r: { shape: string }) => r.shape === shape);
    assert.deepEqual(rs.map((r: { variant: string }) => r.variant.startsWith('old') ? 'old' : r.variant), ['old', 'default', 'tile 16 items, 4/thread', 'tile 32 items, 4/thread', 'tile 64 items, 4/thread', 'tile 32 items, 8/thread', 'tile 64 items, 8/thread']);
    for (const r of rs) assert.ok(r.us > 0 && r.tflops > 0 && r.speedup > 0, `${shape} ${r.variant}: ${JSON.stringify(r)}`);
  }
});
