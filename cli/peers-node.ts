// The Node half of `npm run bench -- peers --node` (cli/bench-peers.ts): TabScout through the `webgpu` package
// (Dawn) and transformers.js' node build through onnxruntime-node, whose WebGPU provider has its own Dawn. Both read
// the files from disk. Each engine that cannot run says why in its report's `error`; the other still runs.
import { basename, dirname } from 'node:path';
import { createNodeGpu } from './node-gpu.ts';
import { FsModelFiles } from './fs-model-files.ts';
import { GpuBufferMeter, emptyReport, runTabScout, runTransformersJs, type EngineReport, type PeersPlan, type TransformersJs } from '../testing/browser/peers-engines.ts';

export interface NodePeersOptions {
  plan: PeersPlan;
  /** TabScout's model folder (package or checkpoint) */
  tabscoutDir: string;
  tabscoutSource: 'package' | 'checkpoint';
  onnxDir: string;
  /** transformers.js device: 'webgpu' (onnxruntime-node's WebGPU provider) or 'cpu' (to check the path) */
  tjsDevice: string;
  engines: EngineReport['engine'][];
  log: (s: string) => void;
}

export interface NodePeersResult {
  engines: EngineReport[];
  /** the untimed start of the GPU driver before either engine (see runNodePeers), ms; null if it failed */
  gpuDriverWarmupMs: number | null;
}

export async function runNodePeers(o: NodePeersOptions): Promise<NodePeersResult> {
  const reports: EngineReport[] = [];
  // Both engines' Dawns (the `webgpu` package's and onnxruntime-node's) go through the process's one Vulkan loader
  // and driver. Whichever engine touches the GPU first would pay the driver's one-time start-up in its load time (on
  // an H200: loading NVIDIA's Vulkan driver libraries) and the second would not; so the driver is started here,
  // untimed, and kept loaded (this instance lives until both have run). Each engine still creates its own device
  // inside its timed load.
  let warm: Awaited<ReturnType<typeof createNodeGpu>> | null = null;
  let gpuDriverWarmupMs: number | null = null;
  if (o.tjsDevice === 'webgpu' || o.engines.includes('tabscout')) {
    const t0 = performance.now();
    try {
      warm = await createNodeGpu();
      gpuDriverWarmupMs = performance.now() - t0;
      o.log(`GPU driver started (untimed, before either engine) in ${gpuDriverWarmupMs.toFixed(0)} ms: ${warm.adapterName}`);
    } catch (e) {
      o.log(`GPU driver warm-up failed (${e instanceof Error ? e.message : e}); the engines start it themselves`);
    }
  }
  for (const engine of o.engines) {
    if (engine === 'tabscout') {
      const meter = new GpuBufferMeter();
      const setup = {
        async context() {
          const gpu = await createNodeGpu();
          meter.install(gpu.ctx.device); // before any weight: the session's buffers are all counted
          return { ctx: gpu.ctx, adapter: gpu.adapterName };
        },
        files: new FsModelFiles(o.tabscoutDir),
        source: o.tabscoutSource,
        meter,
      };
      reports.push(await runTabScout(setup, o.plan, o.log));
    } else {
      let backend = `onnxruntime-node ${o.tjsDevice === 'webgpu' ? 'WebGPU (its own Dawn)' : o.tjsDevice}`;
      let tjs: TransformersJs;
      try {
        tjs = (await import('@huggingface/transformers')) as unknown as TransformersJs;
      } catch (e) {
        const r = emptyReport('transformers.js', backend);
        r.error = `could not import @huggingface/transformers (with onnxruntime-node): ${e instanceof Error ? e.message : e}`;
        reports.push(r);
        continue;
      }
      const ortVersion = (tjs.env as { backends?: { onnx?: { versions?: { node?: string } } } }).backends?.onnx?.versions?.node;
      if (ortVersion) backend = backend.replace('onnxruntime-node', `onnxruntime-node ${ortVersion}`);
      tjs.env.allowRemoteModels = false;
      tjs.env.allowLocalModels = true;
      tjs.env.useFSCache = false;
      tjs.env.localModelPath = dirname(o.onnxDir) + '/';
      // GPU memory stays null: onnxruntime-node's Dawn device is not visible from JavaScript
      reports.push(await runTransformersJs({ tjs, modelId: basename(o.onnxDir), device: o.tjsDevice, backend, meter: null }, o.plan, o.log));
    }
  }
  warm?.ctx.device.destroy();
  return { engines: reports, gpuDriverWarmupMs };
}
