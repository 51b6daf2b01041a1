import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKernelBenchArgs, parseShapes, settings } from './bench-kernels.ts';

test('--shapes replaces the Scout shapes of the mat-vec bench', () => {
  assert.equal(parseShapes(['--only', 'q4']), null);
  assert.deepEqual(parseShapes(['--shapes', '5120x4096,5120×8192, 8192x5120']), [[5120, 4096], [5120, 8192], [8192, 5120]]);
  const o = parseKernelBenchArgs(['--quick', '--shapes', '64x32']);
  assert.deepEqual(settings(o).shapes, [[64, 32]]);
  assert.deepEqual(settings(parseKernelBenchArgs(['--quick'])).shapes, [[256, 64], [512, 128]]);
});

test('--shapes refuses what is not IN×OUT in whole q4 blocks', () => {
  for (const bad of ['5120', '5120x', '5000x8192', '5120x8192,abc', '0x32']) {
    assert.throws(() => parseShapes(['--shapes', bad]), /--shapes: .* is not IN×OUT/, bad);
  }
  assert.throws(() => parseShapes(['--shapes']), /--shapes/);
});
