// npm run bench -- record [--config <config.json>] [--narrow] [--steps N] [--js-only] [--submit] [--norm-in-qkv] [--json] [--quick]
//
// The CPU cost of recording a decode step (issue 8): the same forward as decode (worker/model/decode.ts: one token,
// ids from the GPU, deferred), recorded --steps times, with queue.submit replaced by a counter so nothing runs on the
// GPU and only recording is timed: our JS (kernel host functions, GpuContext.encode) plus the WebGPU binding's
// calls. Reports ms per step (median, mean, min) and µs per dispatch, and the floor: the step's own binding calls
// (setPipeline, setBindGroup, dispatchWorkgroups) captured once and replayed raw into a fresh pass.
// --narrow: the config's structure (layers, experts, heads, MoE layout) at tiny widths, so that even SwiftShader
//   makes the weights in seconds (recording does not depend on widths, only on the dispatches).
// --js-only: the pass encoder's three calls made no-ops, to time our JS alone.
// --submit: really submit each step (one submission at its end) and wait for the GPU; the submit is timed apart
//   (on a real GPU: Dawn's backend encoding). Needs a GPU that runs the step quickly (not SwiftShader at Scout's depth).
// --norm-in-qkv: the add-norm that ends a layer inside the next Q/K/V mat-vec (normTuning.intoQkv).
// Always the GPU kernel variants (the ones real GPUs record), also on a CPU adapter.
import type { ModelConfig } from '../worker/model/config.ts';
import { GpuContext } from '../kernels/runtime.ts';
import { createNodeGpu } from './node-gpu.ts';
import { configJson, quickConfig } from './bench-model.ts';
import { parseConfig } from '../worker/model/config.ts';
import { parseOptions } from './options.ts';
import { syntheticTextWeights } from './synthetic-model.ts';
import { createRunState, Llama4Text, normTuning } from '../worker/model/llama4.ts';

export interface RecordReport {
  adapter: string;
  config: string;
  layers: number;
  steps: number;
  mode: 'full' | 'js-only' | 'submit';
  dispatchesPerStep: number;
  submitsPerStep: number;
  recordMs: { median: number; mean: number; min: number };
  usPerDispatch: { median: number; min: number };
  /** the step's binding calls alone, replayed (null with --js-only) */
  replay: { medianMs: number; usPerDispatch: number } | null;
  /** --submit: the time of the step's submission (writeBuffer of the uniforms, finish, submit) */
  submitMs: { median: number } | null;
}

/** The config's text model at tiny widths: same layers, experts, heads and MoE layout; head_dim 32, a multiple of 32 as Scout's 128 (the decode attention then writes o_proj's integer input, as on Scout). */
export function narrowConfig(json: Record<string, unknown>): ModelConfig {
  const text = (json.text_config ?? json) as Record<string, unknown>;
  Object.assign(text, { hidden_size: 256, intermediate_size: 128, intermediate_size_mlp: 256, vocab_size: 2048, head_dim: 32 });
  return parseConfig(json);
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
const WARMUP = 5;

type Call = [0, GPUComputePipeline] | [1, GPUBindGroup, number[]] | [2, number, number, number];

export async function runRecordBench(base: GpuContext, adapter: string, config: ModelConfig, configName: string, steps: number, mode: RecordReport['mode']): Promise<RecordReport> {
  const ctx = new GpuContext(base.device, { cpuKernels: false, integerDot: base.integerDot });
  const c = config.text;
  const { weights } = await syntheticTextWeights(ctx, config, 'q4', c.numExperts, 1, false);
  const state = createRunState(ctx, c, 256);
  await ctx.settleWrites();
  const queue = ctx.device.queue;
  const realSubmit = queue.submit.bind(queue);
  let submits = 0;
  queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
    submits += [...buffers].length;
    if (mode === 'submit') realSubmit(buffers);
  };
  const probe = ctx.device.createCommandEncoder();
  const probePass = probe.beginComputePass();
  probePass.end();
  probe.finish();
  const proto = Object.getPrototypeOf(probePass) as GPUComputePassEncoder;
  const native = {
    setPipeline: proto.setPipeline,
    setBindGroup: proto.setBindGroup as (this: GPUComputePassEncoder, index: number, group: GPUBindGroup, offsets: number[]) => void,
    dispatchWorkgroups: proto.dispatchWorkgroups,
  };
  const restore = () => Object.assign(proto, native);
  try {
    if (mode === 'js-only') Object.assign(proto, { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups() {} });
    const model = new Llama4Text(ctx, c, weights, state);
    if (mode === 'submit') model.submitEveryLayers = 0; // the step's one submission, timed apart
    const ids = ctx.createBuffer(4, 'ids');
    const record: number[] = [], submit: number[] = [];
    let d0 = 0, s0 = 0;
    for (let i = 0; i < steps + WARMUP; i++) {
      if (i === WARMUP) (d0 = ctx.dispatchCount), (s0 = submits);
      const t0 = performance.now();
      await model.forward(new Uint32Array(1), 8 + (i % 64), { defer: true, idsFrom: ids });
      const t1 = performance.now();
      ctx.flush();
      const t2 = performance.now();
      if (mode === 'submit') await queue.onSubmittedWorkDone();
      if (i >= WARMUP) record.push(t1 - t0), submit.push(t2 - t1);
    }
    const dispatchesPerStep = (ctx.dispatchCount - d0) / steps;
    let replay: RecordReport['replay'] = null;
    if (mode !== 'js-only') {
      // one step's binding calls, captured, then replayed raw: what the binding costs without our JS
      const calls: Call[] = [];
      Object.assign(proto, {
        setPipeline(this: GPUComputePassEncoder, p: GPUComputePipeline) {
          calls.push([0, p]);
          native.setPipeline.call(this, p);
        },
        setBindGroup(this: GPUComputePassEncoder, index: number, g: GPUBindGroup, offsets: number[]) {
          calls.push([1, g, [...offsets]]);
          native.setBindGroup.call(this, index, g, offsets);
        },
        dispatchWorkgroups(this: GPUComputePassEncoder, x: number, y = 1, z = 1) {
          calls.push([2, x, y, z]);
          native.dispatchWorkgroups.call(this, x, y, z);
        },
      });
      await model.forward(new Uint32Array(1), 8, { defer: true, idsFrom: ids });
      restore();
      ctx.flush();
      if (mode === 'submit') await queue.onSubmittedWorkDone();
      const n = calls.filter((e) => e[0] === 2).length;
      const times: number[] = [];
      for (let r = 0; r < Math.max(20, steps); r++) {
        const t0 = performance.now();
        const encoder = ctx.device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        for (const e of calls) {
          if (e[0] === 0) pass.setPipeline(e[1]);
          else if (e[0] === 1) pass.setBindGroup(0, e[1], e[2]);
          else pass.dispatchWorkgroups(e[1], e[2], e[3]);
        }
        pass.end();
        encoder.finish();
        times.push(performance.now() - t0);
      }
      replay = { medianMs: median(times), usPerDispatch: (median(times) * 1000) / n };
    }
    return {
      adapter,
      config: configName,
      layers: c.numLayers,
      steps,
      mode,
      dispatchesPerStep,
      submitsPerStep: (submits - s0) / steps,
      recordMs: { median: median(record), mean: mean(record), min: Math.min(...record) },
      usPerDispatch: { median: (median(record) * 1000) / dispatchesPerStep, min: (Math.min(...record) * 1000) / dispatchesPerStep },
      replay,
      submitMs: mode === 'submit' ? { median: median(submit) } : null,
    };
  } finally {
    restore();
    queue.submit = realSubmit;
  }
}

export async function main(args: string[]): Promise<void> {
  const { value, int, has } = parseOptions(args, ['--config', '--narrow', '--steps', '--js-only', '--submit', '--norm-in-qkv', '--json', '--quick']);
  if (has('--norm-in-qkv')) normTuning.intoQkv = true;
  const configPath = value('--config');
  if (!configPath && !has('--quick')) throw new Error('--config <config.json> is required (or --quick for the built-in tiny config)');
  if (has('--js-only') && has('--submit')) throw new Error('--js-only and --submit do not go together');
  const config = configPath ? (has('--narrow') ? narrowConfig(configJson(configPath, null)) : parseConfig(configJson(configPath, null))) : quickConfig();
  const steps = Math.max(1, int('--steps', has('--quick') ? 3 : 200));
  const mode = has('--js-only') ? 'js-only' : has('--submit') ? 'submit' : 'full';
  const { ctx, adapterName } = await createNodeGpu();
  const r = await runRecordBench(ctx, adapterName, config, `${configPath ?? 'quick'}${has('--narrow') ? ' (narrow)' : ''}`, steps, mode);
  if (has('--json')) {
    console.log(JSON.stringify(r));
    return;
  }
  const f = (x: number) => x.toFixed(3);
  console.log(`${r.adapter}, ${r.config}, ${r.layers} layers, ${r.steps} steps (${r.mode})`);
  console.log(
    `  recording a decode step: median ${f(r.recordMs.median)} ms, mean ${f(r.recordMs.mean)}, min ${f(r.recordMs.min)}; ${r.dispatchesPerStep} dispatches, ${r.submitsPerStep.toFixed(2)} submits per step → ${r.usPerDispatch.median.toFixed(2)} µs per dispatch (min ${r.usPerDispatch.min.toFixed(2)})`,
  );
  if (r.replay) console.log(`  the step's binding calls alone (replayed): ${f(r.replay.medianMs)} ms = ${r.replay.usPerDispatch.toFixed(2)} µs per dispatch`);
  if (r.submitMs) console.log(`  submitting a step: median ${f(r.submitMs.median)} ms`);
}
