// The figures of a tools/model-device.sh run, one block per model-bench row: node tools/model-device-summary.mjs OUT
// (reads OUT/*.json written by `bench.mjs model --json`, `bench.mjs load --json` or `bench.mjs record --json`, and OUT/kernels-q4.txt, OUT/kernels-experts.txt).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2] ?? '.';
const f = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : String(x));
const gb = (b) => f(b / 1e9, 3);
const lines = [];
for (const name of readdirSync(out).filter((n) => n.endsWith('.json')).sort()) {
  let r;
  try {
    const text = readFileSync(join(out, name), 'utf8').trim().split('\n').pop();
    r = JSON.parse(text);
  } catch (e) {
    lines.push(`${name}: no report (${e instanceof Error ? e.message : e})`);
    continue;
  }
  if (name.startsWith('record')) {
    // a `bench.mjs record --json` report: the CPU time to record a decode step
    lines.push(`== ${name}: ${r.adapter}; ${r.config}, ${r.layers} layers, ${r.steps} steps (${r.mode}): recording ${f(r.recordMs.median, 3)} ms per step (mean ${f(r.recordMs.mean, 3)}, min ${f(r.recordMs.min, 3)}), ${r.dispatchesPerStep} dispatches → ${f(r.usPerDispatch.median)} µs each` +
      (r.replay ? `; the binding calls alone ${f(r.replay.medianMs, 3)} ms = ${f(r.replay.usPerDispatch)} µs each` : '') + (r.submitMs ? `; submit ${f(r.submitMs.median, 3)} ms` : ''));
    continue;
  }
  if (name.startsWith('load')) {
    // a `bench.mjs load --json` report
    lines.push(`== ${name}: ${r.adapter}; ${r.config}, ${r.layers} layers, ${r.records} records, ${gb(r.packageBytes)} GB (largest ${f(r.largestRecordBytes / 2 ** 20, 1)} MiB), written in ${f(r.writeMs / 1000, 1)} s; page cache dropped: ${r.pageCacheDropped}`);
    lines.push(`   load ${f(r.loadMs / 1000, 2)} s = ${f(r.packageBytes / r.loadMs / 1e6)} GB/s (${Object.entries(r.loadPhases).map(([k, v]) => `${k} ${f(v, 0)}`).join(', ')} ms)`);
    lines.push(`   peak resident memory ${gb(r.peakRssBytes)} GB (before ${gb(r.rssBeforeBytes)} GB; ArrayBuffers at most ${gb(r.peakArrayBufferBytes)} GB); GPU buffers ${gb(r.gpuBufferBytes)} GB; forward ${f(r.forward.ms, 1)} ms, finite ${r.forward.finite}`);
    continue;
  }
  lines.push(`== ${name}: ${r.adapter}; ${r.config}, ${r.layers} layers, ${r.weights}, prompt ${r.prompt}, tokens ${r.tokens}, context ${r.context ?? '-'}, routing ${r.routing}`);
  lines.push(`   roofline ${f(r.rooflineGBps, 1)} GB/s, FMA ${f(r.fmaTflops)} TFLOP/s`);
  for (const [kind, x] of [['resident', r.resident], ['paged', r.paged]]) {
    if (!x) continue;
    const d = x.decode;
    lines.push(`   ${kind}: load ${f(x.loadSeconds, 1)} s; prefill ${f(x.prefillTokPerS, 1)} tok/s (${f(100 * x.prefillRooflineRatio, 1)} % of FMA roofline); decode ${f(d.tokPerS)} tok/s, ${f(d.msPerToken)} ms/token (median ${f(d.msPerTokenMedian)}): GPU busy ${f(d.gpuBusyMs)}, rest ${f(d.restMs)} ms, recording ${f(d.recordMs)} ms; ${f(d.dispatchesPerToken, 0)} dispatches, ${f(d.submitsPerToken, 1)} submits per token`);
    lines.push(`   ${kind}: ${gb(x.bytesPerToken.weights)} GB of weights + ${gb(x.bytesPerToken.kv)} GB of KV per token → ${f(100 * x.decodeRooflineRatio, 1)} % of the decode roofline${x.decodeGpuRooflineRatio ? ` (${f(100 * x.decodeGpuRooflineRatio, 1)} % of GPU busy time alone)` : ''}; memory: weights ${gb(x.memory.weights)}, KV ${gb(x.memory.kv)}, scratch ${gb(x.memory.scratch)}, staging ${gb(x.memory.stagingPeak)} GB`);
    if (x.paging) {
      const p = x.paging;
      lines.push(`   paging: ${p.slotsPerLayer} slots/layer, hit ${f(100 * p.hitRate, 1)} %, prediction ${p.predictionAccuracy === null ? '-' : f(100 * p.predictionAccuracy, 1) + ' %'}, ${f(p.missesPerToken, 1)} misses = ${f(p.pagedInBytesPerToken / 2 ** 20, 0)} MiB/token, upload ${f(p.uploadGBps)} GB/s, read-back ${f(p.readbackMsPerToken, 1)} ms, writes ${f(p.writeMsPerToken, 1)} ms/token; bound ${f(x.pagingBoundTokPerS)} tok/s → ${f(100 * x.ofPagingBound, 1)} % of it` +
        (p.readbacksPerToken === undefined ? '' : `; ${f(p.readbacksPerToken, 2)} id read-backs/token, ${f(p.rerunsPerToken, 2)} re-runs (${f(100 * p.rerunFraction, 1)} % of a step), ${f(p.wastedUploadsPerToken, 2)} wasted uploads`) +
        (p.pinned ? `; pinned tier ${gb(p.pinned.bytes)} GB, ${p.pinned.fills} experts written in ${f(p.pinned.fillMs / 1000, 1)} s (${p.pinned.decodeFills} in the decode), ${f(100 * p.pinned.copiedShare, 1)} % of bytes copied from it` : ''));
    }
    if (x.structureFloor) {
      const sf = x.structureFloor;
      lines.push(`   structure floor: ${f(sf.dispatches, 0)} dispatches as streaming reads of ${gb(sf.bytes)} GB: ${f(sf.msPerToken, 3)} ms = ${f(100 * x.structureFloorRooflineRatio, 1)} % of the roofline (GPU busy ${f(d.gpuBusyMs / sf.msPerToken)}× it); one read per layer (${f(sf.mergedDispatches, 0)}): ${f(sf.mergedMsPerToken, 3)} ms = ${f(100 * x.mergedFloorRooflineRatio, 1)} %`);
      for (const g of sf.grid ?? []) {
        lines.push(`   the same reads in one dispatch of ${g.workgroups} workgroups, grid-wide barriers between them: ${f(g.msPerToken, 3)} ms = ${f((100 * sf.msPerToken * x.structureFloorRooflineRatio) / g.msPerToken, 1)} %${g.timedOut ? ' (NOT VALID: a barrier timed out)' : ''}`);
      }
    }
    if (x.kernels?.length) {
      const total = x.kernels.reduce((s, k) => s + k.msPerToken, 0);
      lines.push(`   GPU ms per token by kernel (each dispatch alone; sum ${f(total, 2)}):`);
      for (const k of x.kernels) lines.push(`     ${k.name.padEnd(28)} ${f(k.msPerToken, 3).padStart(8)} ms  ${String(k.dispatchesPerToken).padStart(5)} dispatches  ${f((1000 * k.msPerToken) / k.dispatchesPerToken, 1).padStart(7)} µs each`);
    }
    if (x.ablation) {
      const a = x.ablation;
      lines.push(`   in the stream: GPU busy per step without each kernel (median of ${a.steps} steps; with all ${f(a.baselineGpuMs[0], 3)} then ${f(a.baselineGpuMs[1], 3)} ms):`);
      for (const k of a.kernels) lines.push(`     ${k.name.padEnd(28)} saves ${f(k.savedMs, 3).padStart(7)} ms  ${String(k.dispatchesPerToken).padStart(5)} dispatches  ${f((1000 * k.savedMs) / Math.max(1, k.dispatchesPerToken), 1).padStart(7)} µs each`);
    }
  }
}
const kernelTable = join(out, 'kernels-q4.txt');
if (existsSync(kernelTable)) lines.push('== kernels-q4.txt:', ...readFileSync(kernelTable, 'utf8').trim().split('\n').filter((l) => l.startsWith('|') || /roofline/.test(l)));
const expertTable = join(out, 'kernels-experts.txt');
if (existsSync(expertTable)) lines.push('== kernels-experts.txt:', ...readFileSync(expertTable, 'utf8').trim().split('\n').filter((l) => /default|fastest|roofline|checked/.test(l)));
console.log(lines.join('\n'));
