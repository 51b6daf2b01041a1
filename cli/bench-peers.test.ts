// `npm run bench -- peers --quick --node`: the H200 run's code path here (TabScout through the webgpu package and
// transformers.js through onnxruntime-node's WebGPU provider, both on SwiftShader), and the bench's small parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchPrompt } from './bench-peers.ts';
import { checkChat, runTimes } from '../testing/browser/peers-engines.ts';
import { checkQuickReport, runPeersBench } from '../testing/peers-report-check.ts';

test('bench peers --quick --node: both engines report every figure and generate the q4 reference tokens', () => {
  checkQuickReport(runPeersBench(['--quick', '--node']), 'node', false);
});

test('bench peers: an unknown option or a missing model is an error that says what to give', () => {
  assert.throws(() => runPeersBench(['--model'], 30_000), /--model needs a value/);
  assert.throws(() => runPeersBench(['--frobnicate', '--quick'], 30_000), /unknown option --frobnicate/);
  assert.throws(() => runPeersBench([], 30_000), /give --model DIR/);
  assert.throws(() => runPeersBench(['--quick', '--tabscout-from', 'disk'], 30_000), /--tabscout-from: package or checkpoint/);
});

test('run times: TTFT from the call, decode rate over the tokens after the first', () => {
  assert.deepEqual(runTimes(100, [150, 160, 170, 180]), { ttftMs: 50, decodeTokensPerSecond: 100, generated: 4 });
  assert.throws(() => runTimes(0, []), /no token/);
});

test('chat check: compares the leading clear-margin tokens only; a short or different reply fails', () => {
  const chat = { prompt: [1], expected: [5, 6, 7, 8], compare: 3 };
  assert.deepEqual(checkChat([5, 6, 7, 9], chat), { tokens: [5, 6, 7, 9], matches: true, compared: 3, firstMismatch: -1 });
  assert.equal(checkChat([5, 0, 7, 8], chat).firstMismatch, 1);
  assert.equal(checkChat([5, 6], chat).matches, false);
});

test('bench prompt: BOS first, the rest below the bound, the same every run', () => {
  const p = benchPrompt(512, 7, 1000);
  assert.equal(p.length, 512);
  assert.equal(p[0], 7);
  assert.ok(p.slice(1).every((x) => Number.isInteger(x) && x >= 0 && x < 1000));
  assert.deepEqual(benchPrompt(512, 7, 1000), p);
  assert.ok(new Set(p).size > 300, 'not a repeated token');
});
