import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transpose } from './engine-tensors.ts';

test('transpose: [in, out] → [out, in], tiled, equal to the plain definition on sizes off the tile grid', () => {
  for (const [inDim, outDim] of [[1, 1], [3, 5], [64, 64], [65, 130], [200, 63], [128, 1]]) {
    const w = Float32Array.from({ length: inDim * outDim }, (_, i) => i * 0.5 - 7);
    const t = transpose(w, inDim, outDim);
    for (let i = 0; i < inDim; i++) {
      for (let o = 0; o < outDim; o++) {
        if (t[o * inDim + i] !== w[i * outDim + o]) assert.fail(`[${inDim}, ${outDim}]: element (${i}, ${o})`);
      }
    }
  }
});
