// Tile grid: the candidate canvas list against the spec's list for 16 tiles, get_best_fit ties, the resize target,
// and the spec's verified examples (336 px tiles, 16 max tiles).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateCanvases, getBestFit, planTiles, resizeTarget } from './tiling.ts';

// spec §3.1 step 1, (height, width)
const SPEC_16: [number, number][] = [
  [336, 5376], [672, 2688], [336, 1344], [1344, 1344], [1008, 1008], [672, 672], [336, 336], [2688, 672], [1344, 336],
  [5376, 336], [336, 5040], [1008, 1680], [1680, 1008], [5040, 336], [336, 4704], [672, 2352], [2352, 672], [4704, 336],
  [336, 4368], [4368, 336], [336, 4032], [672, 2016], [336, 1008], [1008, 1344], [1344, 1008], [2016, 672], [1008, 336],
  [4032, 336], [336, 3696], [3696, 336], [336, 3360], [672, 1680], [1680, 672], [3360, 336], [336, 3024], [3024, 336],
  [336, 2688], [672, 1344], [336, 672], [1344, 672], [672, 336], [2688, 336], [336, 2352], [2352, 336], [336, 2016],
  [672, 1008], [1008, 672], [2016, 336], [336, 1680], [1680, 336],
];

test('candidate canvases for 16 tiles of 336 px equal the spec list, in order', () => {
  assert.deepEqual(
    candidateCanvases(16, 336).map((c) => [c.height, c.width]),
    SPEC_16,
  );
});

test('candidate canvases for the fixtures (4 tiles of 112 px), HF docstring order', () => {
  // HF's docstring example for max_num_chunks 4: ratios 0.25, 1.0 (2×2, 1×1), 4.0, 0.33, 3.0, 0.5, 2.0
  assert.deepEqual(
    candidateCanvases(4, 112).map((c) => [c.height / 112, c.width / 112]),
    [[1, 4], [2, 2], [1, 1], [4, 1], [1, 3], [3, 1], [1, 2], [2, 1]],
  );
  assert.deepEqual(candidateCanvases(1, 50), [{ height: 50, width: 50 }]);
});

test('get_best_fit: smallest upscale ≥ 1, smallest area on ties (HF docstring example)', () => {
  const canvases = [[224, 672], [672, 224], [224, 448], [448, 224], [224, 224]].map(([height, width]) => ({ height, width }));
  assert.deepEqual(getBestFit(200, 300, canvases), { height: 224, width: 448 });
  // scales are 1.12, 0.75, 1.12, 0.75, 0.75: the largest upscale (resizeToMaxCanvas) is 1.12 as well
  assert.deepEqual(getBestFit(200, 300, canvases, true), { height: 224, width: 448 });
  // no upscale possible: the largest downscale, smallest area among equals
  assert.deepEqual(getBestFit(1000, 1000, canvases), { height: 224, width: 224 });
});

test('get_best_fit: equal scales keep the first canvas of the smallest area', () => {
  const canvases = [{ height: 10, width: 20 }, { height: 20, width: 10 }, { height: 10, width: 10 }];
  // 10×10 image: scales 1, 1, 1 → the 10×10 canvas (smallest area)
  assert.deepEqual(getBestFit(10, 10, canvases), { height: 10, width: 10 });
  // equal areas: first in list order
  assert.equal(getBestFit(10, 10, canvases.slice(0, 2)), canvases[0]);
});

test('resize target caps upscaling at the tile size and preserves the aspect ratio', () => {
  // 37×50 image (fixture "small") on a 112 canvas: upscaled only to the tile, aspect kept: floor(37·112/50) = 82
  assert.deepEqual(resizeTarget(37, 50, { height: 112, width: 112 }, 112), { height: 82, width: 112 });
  // 140×300 (fixture "wide") on 112×336: the height limits: (112, floor(300·0.8) = 240)
  assert.deepEqual(resizeTarget(140, 300, { height: 112, width: 336 }, 112), { height: 112, width: 240 });
  // the inputs of HF's get_max_res_without_distortion docstring examples (canvas as the target, no tile cap); the
  // code floors, so 133 and 337 (the docstring's 134 and 338 are off by one)
  assert.deepEqual(resizeTarget(200, 300, { height: 450, width: 200 }, 1, true), { height: 133, width: 200 });
  assert.deepEqual(resizeTarget(800, 600, { height: 450, width: 1300 }, 1, true), { height: 450, width: 337 });
  // never a zero side
  assert.deepEqual(resizeTarget(1, 5000, { height: 336, width: 336 }, 336), { height: 1, width: 336 });
});

test("spec's verified examples (H×W → rows×cols, tiles incl. global), 336 px tiles, 16 max tiles", () => {
  const examples: [number, number, number, number, number][] = [
    [100, 100, 1, 1, 1],
    [336, 336, 1, 1, 1],
    [337, 336, 2, 1, 3],
    [300, 800, 1, 3, 4],
    [800, 300, 3, 1, 4],
    [1000, 1000, 3, 3, 10],
    [2000, 500, 6, 2, 13],
    [4000, 3000, 4, 3, 13],
    [672, 1008, 2, 3, 7],
    [50, 2000, 1, 6, 7],
  ];
  for (const [h, w, rows, cols, tiles] of examples) {
    const plan = planTiles(h, w, { tileSize: 336, maxTiles: 16 });
    assert.deepEqual([plan.rows, plan.cols, plan.tiles], [rows, cols, tiles], `${h}×${w}`);
    assert.deepEqual(plan.canvas, { height: rows * 336, width: cols * 336 });
    assert.ok(plan.resized.height <= plan.canvas.height && plan.resized.width <= plan.canvas.width);
  }
});

test('planTiles rejects empty sizes', () => {
  assert.throws(() => planTiles(0, 10, { tileSize: 336, maxTiles: 16 }), /positive/);
  assert.throws(() => planTiles(10, 0, { tileSize: 336, maxTiles: 16 }), /positive/);
});
