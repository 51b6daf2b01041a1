// The recording bench through the CLI's contract (so the command cannot rot), and the narrow config's structure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { configJson } from './bench-model.ts';
import { narrowConfig } from './bench-record.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import { benchJson } from '../testing/bench-cli.ts';

const positive = (v: unknown, what: string) => assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${what} = ${v}`);

test('npm run bench -- record --quick: recording time per step and per dispatch, and the replayed floor', () => {
  const r = benchJson('record', ['--quick', '--steps', '4']);
  assert.equal(r.mode, 'full');
  assert.equal(r.layers, 4);
  assert.ok(Number.isInteger(r.dispatchesPerStep) && r.dispatchesPerStep > 4 * 4, `dispatches per step: ${r.dispatchesPerStep}`);
  positive(r.recordMs.median, 'median ms');
  assert.ok(r.recordMs.min <= r.recordMs.median && r.recordMs.median <= r.recordMs.mean * 4, 'min ≤ median');
  assert.ok(Math.abs(r.usPerDispatch.median - (r.recordMs.median * 1000) / r.dispatchesPerStep) < 1e-9, 'µs per dispatch = ms per step / dispatches');
  positive(r.replay.usPerDispatch, 'replayed µs per dispatch');
  const js = benchJson('record', ['--quick', '--steps', '4', '--js-only']);
  assert.equal(js.mode, 'js-only');
  assert.equal(js.replay, null);
  assert.equal(js.dispatchesPerStep, r.dispatchesPerStep, 'the same dispatches with the binding calls stubbed');
});

test('narrowConfig: Scout at tiny widths keeps its layers, experts, heads and MoE layout', () => {
  const path = join(fixturesDir(), 'configs', 'Llama-4-Scout-17B-16E-Instruct.config.json');
  const c = narrowConfig(configJson(path, null)).text;
  assert.equal(c.numLayers, 48);
  assert.equal(c.numExperts, 16);
  assert.equal(c.topK, 1);
  assert.equal(c.numHeads, 40);
  assert.equal(c.numKvHeads, 8);
  assert.equal(c.hiddenSize, 256);
  assert.ok(c.isMoe.every(Boolean), 'every layer MoE, as Scout');
  // Scout's head_dim 128 is a multiple of 32: the decode attention writes o_proj's integer input (no quantize_x per
  // layer); the narrow head_dim must take the same path, or the step records 48 dispatches more than Scout's
  assert.equal(c.headDim % 32, 0, `head_dim ${c.headDim}`);
});
