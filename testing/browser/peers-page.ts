// The Chromium page of `npm run bench -- peers` (cli/bench-peers.ts): TabScout (ModelSession on this page's WebGPU
// device, the checkpoint read over HTTP) and transformers.js' web build (onnxruntime-web's WebGPU provider, the ONNX
// export read over HTTP) on the same plan, one after the other, on the same local server. GPU memory of both is the
// peak of live GPUBuffers each creates (GPUDevice.prototype.createBuffer wrapped before either makes a device).
import * as transformers from '@huggingface/transformers';
import { GpuContext, hasIntegerDot, isCpuAdapter } from '../../kernels/runtime.ts';
import { browserDevice } from '../../worker/browser-device.ts';
import { HttpFiles } from '../../worker/store/http.ts';
import { GpuBufferMeter, runTabScout, runTransformersJs, type EngineReport, type PeersPlan, type TransformersJs } from './peers-engines.ts';

export interface PeersPageRequest {
  plan: PeersPlan;
  /** URL of TabScout's model folder: its package (cli/convert.ts) or the Hub checkpoint */
  tabscoutUrl: string;
  tabscoutSource: 'package' | 'checkpoint';
  /** URL of the folder holding the ONNX export's folder, and that folder's name (transformers.js) */
  onnxParentUrl: string;
  onnxId: string;
  /** URL of onnxruntime-web's dist/ (its wasm; no CDN) */
  ortUrl: string;
  /** which engines, in order */
  engines: EngineReport['engine'][];
}

const meter = new GpuBufferMeter();
meter.install(GPUDevice.prototype);

async function runPeers(request: PeersPageRequest): Promise<EngineReport[]> {
  const log = (s: string) => console.log(s);
  const tjs = transformers as unknown as TransformersJs & { env: { backends: { onnx: { wasm: { wasmPaths: unknown; numThreads?: number }; versions?: { web?: string } } } } };
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = request.onnxParentUrl;
  tjs.env.useBrowserCache = false; // a load reads the files from the server, as TabScout's does
  tjs.env.backends.onnx.wasm.wasmPaths = { mjs: `${request.ortUrl}ort-wasm-simd-threaded.asyncify.mjs`, wasm: `${request.ortUrl}ort-wasm-simd-threaded.asyncify.wasm` };
  const reports: EngineReport[] = [];
  for (const engine of request.engines) {
    if (engine === 'tabscout') {
      const setup = {
        async context() {
          const { device, info } = await browserDevice();
          return { ctx: new GpuContext(device, { cpuKernels: isCpuAdapter(info), integerDot: hasIntegerDot(navigator.gpu) }), adapter: `${info.vendor} / ${info.architecture || info.device || info.description}` };
        },
        files: new HttpFiles(request.tabscoutUrl, { attempts: 1 }),
        source: request.tabscoutSource,
        meter,
      };
      reports.push(await runTabScout(setup, request.plan, log));
    } else {
      reports.push(await runTransformersJs({ tjs, modelId: request.onnxId, device: 'webgpu', backend: `onnxruntime-web ${tjs.env.backends.onnx.versions?.web ?? ''} WebGPU`, meter }, request.plan, log));
    }
  }
  return reports;
}

(globalThis as unknown as { runPeers: typeof runPeers }).runPeers = runPeers;
