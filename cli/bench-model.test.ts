// The model bench in its quick form (what CI can run on SwiftShader), through the CLI's exact contract, so the
// command cannot rot: its JSON report must hold sane figures, and the paged run must give the resident run's tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseGridFloor, parseRouting, WARMUP_STEPS } from './bench-model.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import { benchJson } from '../testing/bench-cli.ts';

const bench = (args: string[]) => benchJson('model', args);

const positive = (v: unknown, what: string) => assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${what} = ${v}`);

test('npm run bench -- model --quick reports sane figures, and paged decode matches resident decode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-model-'));
  const trace = join(dir, 'trace.json');
  writeFileSync(trace, JSON.stringify({ experts: [[0, 1, 2, 3], [3, 3, 1, 0], [2, 0, 0, 1]] }));
  const tokens = 10;
  const r = bench(['--quick', '--expert-budget-gib', '0.0002', '--also-resident', '--routing', `trace:${trace}`, '--tokens', String(tokens)]);
  positive(r.rooflineGBps, 'roofline');
  assert.equal(r.layers, 4);
  positive(r.fmaTflops, 'FMA roofline');
  for (const run of [r.resident, r.paged]) {
    assert.ok(run, 'both runs are reported');
    assert.equal(run.tokens.length, tokens + 1, 'first token of the prefill + the decoded ones');
    assert.ok(run.tokens.every((t: number) => Number.isInteger(t) && t >= 0 && t < 512), `token ids in the vocabulary: ${run.tokens}`);
    positive(run.prefillTokPerS, 'prefill tok/s');
    positive(run.decode.tokPerS, 'decode tok/s');
    positive(run.decode.gpuBusyMs, 'GPU busy ms');
    // decode is pipelined (step i + 1 runs while token i is read back), so one step's GPU work may lie before the
    // measured walls: over n measured tokens, busy · n ≤ wall · n + one step (the paged run pairs one token fewer)
    const n = tokens - WARMUP_STEPS - (run === r.paged ? 1 : 0);
    assert.ok(run.decode.gpuBusyMs <= run.decode.msPerToken * (n / (n - 1)) * 1.05, `GPU busy time fits in the wall time (${run.decode.gpuBusyMs} against ${run.decode.msPerToken} ms)`);
    assert.ok(Math.abs(run.decode.gpuBusyMs + run.decode.restMs - run.decode.msPerToken) < 1e-6, 'busy + rest = wall');
    positive(run.decode.dispatchesPerToken, 'dispatches per token');
    positive(run.bytesPerToken.weights, 'weight bytes per token');
    assert.ok(run.bytesPerToken.weights < run.memory.weights, 'a token reads less than all the weights (one expert of four)');
    positive(run.decodeRooflineRatio, 'roofline ratio');
    assert.ok(Math.abs(run.decodeGpuRooflineRatio - run.decodeRooflineRatio * run.decode.msPerToken / run.decode.gpuBusyMs) <= 1e-9 * run.decodeGpuRooflineRatio, 'the GPU-side ratio is the same bytes over GPU busy time');
    positive(run.prefillFlopsPerToken, 'prefill FLOPs per token');
    positive(run.prefillRooflineRatio, 'prefill FMA roofline ratio');
    const ratio = (run.prefillTokPerS * run.prefillFlopsPerToken) / (r.fmaTflops * 1e12);
    assert.ok(Math.abs(run.prefillRooflineRatio - ratio) <= 1e-9 * ratio, 'prefill ratio = FLOP rate / FMA roofline');
    positive(run.memory.weights, 'weights memory');
    positive(run.memory.kv, 'KV memory');
    positive(run.memory.scratch, 'scratch memory');
  }
  assert.equal(r.resident.decode.submitsPerToken, 1, 'resident decode: one submission per step');
  assert.ok(r.paged.decode.submitsPerToken > 1, 'paged decode reads expert ids back');
  assert.equal(r.pagedMatchesResident, true);
  const p = r.paged.paging;
  assert.equal(p.slotsPerLayer, 1);
  assert.ok(p.hitRate >= 0 && p.hitRate <= 1);
  positive(p.pagedInBytesPerToken, 'bytes paged in per token');
  positive(p.uploadGBps, 'upload bandwidth');
  positive(r.paged.pagingBoundTokPerS, 'paging bound');
  // speculative decode: one id read-back per pass of a step (a step, plus its re-runs), not one per MoE layer
  assert.ok(Math.abs(p.readbacksPerToken - (1 + p.rerunsPerToken)) < 1e-9, `read-backs = passes: ${JSON.stringify(p)}`);
  assert.ok(p.rerunsPerToken > 0, 'the trace misses (one slot per layer), so steps are re-run');
  assert.ok(p.rerunLayersPerToken >= p.rerunsPerToken && p.rerunFraction > 0 && p.rerunFraction <= 1);
  assert.ok(p.neededBytesPerToken > 0 && p.neededBytesPerToken <= p.pagedInBytesPerToken);
  // the synchronous path as a control: same tokens, a read-back per MoE layer (2) and per prediction (1)
  const sync = bench(['--quick', '--expert-budget-gib', '0.0002', '--routing', `trace:${trace}`, '--tokens', String(tokens), '--no-speculate']);
  assert.deepEqual(sync.paged.tokens, r.paged.tokens);
  assert.equal(sync.paged.paging.readbacksPerToken, 3);
  assert.equal(sync.paged.paging.rerunsPerToken, 0);
});

test('npm run bench -- model --pinned-tier: page-ins copied from pinned host memory give the same tokens', () => {
  const r = bench(['--quick', '--expert-budget-gib', '0.0002', '--also-resident', '--tokens', '5', '--pinned-tier']);
  assert.equal(r.pagedMatchesResident, true);
  const p = r.paged.paging;
  assert.ok(p.rerunsPerToken > 0 || p.missesPerToken > 0, 'the decode pages experts in');
  assert.ok(p.pinned, 'the tier is reported');
  assert.equal(p.pinned.copiedShare, 1, 'every upload was a copy from the tier');
  assert.equal(p.pinned.fills, 8, 'the 8 payloads (2 MoE layers × 4 experts) are written into the tier at load');
  assert.equal(p.pinned.decodeFills, 0, 'and none in the decode');
  positive(p.pinned.bytes, 'pinned bytes');
  assert.equal(r.resident.paging, null);
});

test("npm run bench -- model --sampling: the app's sampling in the decode, the same draws in the paged and the resident run", () => {
  const r = bench(['--quick', '--expert-budget-gib', '0.0002', '--also-resident', '--sampling', '0.6,0.9', '--tokens', '5']);
  assert.equal(r.sampling, 'temperature 0.6, top-p 0.9');
  assert.equal(r.resident.tokens.length, 6);
  assert.ok(r.resident.tokens.every((t: number) => Number.isInteger(t) && t >= 0 && t < 512), `token ids in the vocabulary: ${r.resident.tokens}`);
  assert.equal(r.pagedMatchesResident, true, 'one seed: both runs draw the same numbers');
  assert.throws(() => bench(['--quick', '--sampling', '0,0.9']), /--sampling needs TEMPERATURE,TOP_P/);
});

test('npm run bench -- model --kernel-ablation: the GPU time of steps without each kernel of the profile', () => {
  const r = bench(['--quick', '--kernel-ablation', '--tokens', '3']);
  const run = r.resident;
  assert.ok(run.kernels.length > 0, 'the ablation runs the per-dispatch profile first');
  const a = run.ablation;
  assert.ok(a, 'reported');
  assert.equal(a.steps, 5);
  for (const v of a.baselineGpuMs) positive(v, 'baseline GPU ms');
  const names = new Set(run.kernels.map((k: { name: string }) => k.name.split(' (')[0]));
  assert.deepEqual(new Set(a.kernels.map((k: { name: string }) => k.name)), names, 'one variant per kernel of the profile');
  for (const k of a.kernels) {
    positive(k.gpuMs, `GPU ms without ${k.name}`);
    const profiled = run.kernels.filter((p: { name: string }) => p.name.split(' (')[0] === k.name).reduce((n: number, p: { dispatchesPerToken: number }) => n + p.dispatchesPerToken, 0);
    assert.equal(k.dispatchesPerToken, profiled, `${k.name}: the profile's dispatches`);
    assert.ok(Math.abs(k.savedMs - ((a.baselineGpuMs[0] + a.baselineGpuMs[1]) / 2 - k.gpuMs)) < 1e-9, 'saved = mean baseline − without');
  }
  assert.ok(a.kernels.every((k: { savedMs: number }, i: number) => i === 0 || a.kernels[i - 1].savedMs >= k.savedMs), 'sorted by time saved');
});

test('the model bench cuts a real config to --layers and parses routings', () => {
  const scout = loadConfig(join(fixturesDir(), 'configs', 'Llama-4-Scout-17B-16E-Instruct.config.json'), 4);
  assert.equal(scout.text.numLayers, 4);
  assert.deepEqual(scout.text.usesRope, [true, true, true, false]);
  assert.equal(scout.text.hiddenSize, 5120);
  assert.equal(scout.text.vocabSize, 202048);
  assert.deepEqual(parseRouting('sticky:0.95'), { kind: 'sticky', p: 0.95 });
  assert.throws(() => parseRouting('sticky:2'), /0 ≤ P ≤ 1/);
  assert.throws(() => parseRouting('often'), /random, sticky:P or trace:FILE/);
});

test('npm run bench -- model --structure-floor --grid-floor 1: the decode step as streaming reads of its stages, same dispatch count; the same reads in one dispatch', () => {
  const r = bench(['--quick', '--structure-floor', '--grid-floor', '1', '--tokens', '3']);
  const run = r.resident;
  const f = run.structureFloor;
  assert.ok(f, 'reported');
  assert.equal(f.dispatches, run.decode.dispatchesPerToken, 'as many dispatches as the decode step');
  assert.equal(f.mergedDispatches, r.layers + 1, 'one read per layer and one for lm_head');
  // the stages' bytes are the token's weight bytes but for the norms and the embedding row (each stage rounded up to 256)
  const w = run.bytesPerToken.weights;
  assert.ok(f.bytes >= 0.9 * w && f.bytes <= w + 256 * (5 * r.layers + 1), `floor bytes ${f.bytes} against ${w} weight bytes a token`);
  positive(f.msPerToken, 'floor ms');
  positive(f.mergedMsPerToken, 'merged floor ms');
  assert.ok(Math.abs(run.structureFloorRooflineRatio - (w / (r.rooflineGBps * 1e6)) / f.msPerToken) < 1e-9, 'ratio of the same bytes');
  positive(run.mergedFloorRooflineRatio, 'merged ratio');
  // one workgroup never waits for another, so its barriers cannot time out
  assert.deepEqual(f.grid.map((g: { workgroups: number; stages: number; timedOut: boolean }) => [g.workgroups, g.stages, g.timedOut]), [[1, f.dispatches, false]]);
  positive(f.grid[0].msPerToken, 'one-dispatch floor ms');
  assert.throws(() => parseGridFloor('64,0'), /workgroup counts/);
  assert.deepEqual(parseGridFloor('132,264'), [132, 264]);
});

test('npm run bench -- model --kv-f16: half the KV cache, read and held, at a long --context', () => {
  const args = ['--quick', '--context', '300', '--tokens', '3'];
  const f32 = bench(args).resident, f16 = bench([...args, '--kv-f16']).resident;
  assert.equal(f16.memory.kv * 2, f32.memory.kv, 'GPU memory of the cache');
  assert.ok(Math.abs(f16.bytesPerToken.kv * 2 - f32.bytesPerToken.kv) < 1e-6, `KV bytes read per token: ${f16.bytesPerToken.kv} against ${f32.bytesPerToken.kv}`);
  positive(f16.decode.tokPerS, 'f16 decode tok/s');
});
