// The checks both tests of `npm run bench -- peers --quick` make on its JSON report (cli/bench-peers.test.ts in Node,
// e2e/peers-bench.e2e.ts in Chromium): every figure of both engines present and sane, and both engines' greedy
// tokens for the chat case equal to Hugging Face's q4 reference. Nothing about speed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeersReport } from '../cli/bench-peers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

export function runPeersBench(args: string[], timeoutMs = 240_000): PeersReport {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './tools/wgsl-hook.mjs', 'cli/bench.ts', 'peers', ...args, '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  assert.equal(run.status, 0, `bench failed (${run.status}):\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as PeersReport;
}

const positive = (v: unknown, what: string) => assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${what} = ${v}`);

export function checkQuickReport(r: PeersReport, where: PeersReport['where'], gpuMemoryOfPeer: boolean): void {
  assert.equal(r.where, where);
  assert.equal(r.quick, true);
  assert.equal(r.promptTokens, 64);
  assert.equal(r.newTokens, 16);
  positive(r.exportSeconds, 'export seconds');
  assert.equal(r.tabscoutFrom, 'package', 'TabScout loads its pre-quantized package by default, as transformers.js loads its export');
  positive(r.convertSeconds, 'convert seconds');
  assert.ok(r.chatCompared !== null && r.chatCompared >= 10, `chat tokens compared: ${r.chatCompared}`);
  assert.deepEqual(r.engines.map((e) => e.engine), ['tabscout', 'transformers.js']);
  for (const e of r.engines) {
    assert.equal(e.error, null, `${e.engine} could not run: ${e.error}`);
    for (const k of ['loadMs', 'ttftMs', 'prefillTokensPerSecond', 'decodeTokensPerSecond'] as const) positive(e[k], `${e.engine} ${k}`);
    assert.ok(Math.abs(e.prefillTokensPerSecond! - (64 / e.ttftMs!) * 1000) < 1e-6 * e.prefillTokensPerSecond!, 'prefill tok/s = prompt / TTFT');
    assert.equal(e.runs.length, r.repeats);
    for (const run of e.runs) assert.equal(run.generated, 16, `${e.engine} generated the full count (end-of-turn suppressed)`);
    if (e.engine === 'tabscout' || gpuMemoryOfPeer) positive(e.gpuMemoryBytes, `${e.engine} GPU memory`);
    else assert.equal(e.gpuMemoryBytes, null);
    assert.ok(e.chat, `${e.engine}: chat case run`);
    assert.equal(e.chat.compared, r.chatCompared);
    assert.equal(e.chat.firstMismatch, -1, `${e.engine}: chat tokens differ from the q4 reference at ${e.chat.firstMismatch}: ${e.chat.tokens}`);
    assert.equal(e.chat.matches, true);
  }
  for (const k of ['prefill', 'decode', 'ttft', 'load'] as const) positive(r.ratios[k], `ratio ${k}`);
  const [t, p] = r.engines;
  // TabScout's load phases (worker/load-timings.ts): the GPU device and the records among them; the sequential
  // ones (not the *Busy times) with `other` add up to the load time
  const phases = t.loadPhases;
  assert.ok(phases, 'TabScout reports its load phases');
  for (const k of ['device', 'records', 'upload', 'other']) assert.ok(Number.isFinite(phases[k]), `load phase ${k}: ${phases[k]}`);
  const sum = Object.entries(phases).reduce((s, [k, v]) => (k.endsWith('Busy') ? s : s + v), 0);
  assert.ok(Math.abs(sum - t.loadMs!) < 1, `load phases add up to ${sum}, load ${t.loadMs} ms`);
  assert.equal(p.loadPhases, null);
  if (where === 'node') positive(r.gpuDriverWarmupMs, 'GPU driver warm-up ms');
  else assert.equal(r.gpuDriverWarmupMs, null);
  assert.ok(Math.abs(r.ratios.decode! - t.decodeTokensPerSecond! / p.decodeTokensPerSecond!) < 1e-9, 'decode ratio = TabScout / transformers.js');
  if (gpuMemoryOfPeer) positive(r.ratios.gpuMemory, 'GPU memory ratio');
}
