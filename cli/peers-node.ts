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

export async function runNodePeers(o: NodePeersOptions): Promise<EngineReport[]> {
  const reports: EngineReport[] = [];
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
  return reports;
}
