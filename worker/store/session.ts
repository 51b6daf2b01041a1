// A ModelSession from stored weights: the same session ModelSession.load() builds from a checkpoint, with the weights
// streamed from records (q4 already quantized; the vision tower's tensors, when kept, from its file after the text
// ones, in the same stream), config, tokenizer, chat template and processor configs from the manifest.
import type { ExpertSource } from '../pager/pager.ts';
import { EngineError } from '../../protocol/errors.ts';
import type { LoadOptions } from '../../protocol/api.ts';
import type { GpuContext } from '../../kernels/runtime.ts';
import type { ReadProgress } from '../model/engine-tensors.ts';
import type { ModelFiles } from '../model/safetensors.ts';
import { ModelSession } from '../session.ts';
import type { Manifest, RecordEntry } from './format.ts';
import { openPackageAhead } from './package.ts';
import { hasVision, storeTensors } from './reader.ts';
import { timed, type LoadTimings } from '../load-timings.ts';

export { hasVision };
import type { WeightStore } from './store.ts';

/** A stored model's text files (config.json, tokenizer.json, chat template, processor configs) as ModelFiles. */
export function manifestFiles(manifest: Manifest): ModelFiles {
  const missing = (name: string) => new EngineError('bad-model', `${name} is not kept in the stored model ${manifest.name}`);
  return {
    label: `stored model ${manifest.name}`,
    maybeText: async (name) => manifest.files[name] ?? null,
    text: async (name) => {
      const t = manifest.files[name];
      if (t === undefined) throw missing(name);
      return t;
    },
    size: async (name) => {
      throw missing(name);
    },
    range: async (name) => {
      throw missing(name);
    },
  };
}

export type StoreLoadOptions = Omit<LoadOptions, 'weights'> & {
  /** check every record's SHA-256 while loading (default false: model, key and size are always checked) */
  verify?: boolean;
  /** collects where the load's time goes (benchmarks) */
  timings?: LoadTimings;
};

function sessionFrom(
  ctx: GpuContext,
  manifest: Manifest,
  read: (entry: RecordEntry) => Promise<Uint8Array>,
  options: StoreLoadOptions,
  onProgress?: ReadProgress,
  /** paged experts are read from here on demand */
  experts?: ExpertSource,
): Promise<ModelSession> {
  const { verify: _, ...rest } = options;
  const vision = options.vision !== false && hasVision(manifest);
  return ModelSession.load(ctx, manifestFiles(manifest), {
    ...rest,
    weights: manifest.weights,
    vision,
    tensors: (config, withVision) => storeTensors(manifest, read, onProgress, withVision ? config : undefined, { pieces: true }),
    expertSource: experts,
  });
}

/** Loads a completely stored model from the weight store. */
export async function loadSessionFromStore(ctx: GpuContext, store: WeightStore, id: string, options: StoreLoadOptions = {}, onProgress?: ReadProgress): Promise<ModelSession> {
  const manifest = await store.manifest(id);
  return sessionFrom(ctx, manifest, (entry) => store.readRecord(manifest, entry, options.verify), options, onProgress, store.experts(manifest));
}

/**
 * Loads a model straight from a package (a folder in Node, a URL), every record checked against its hash. The text
 * records are read and checked ahead of the upload (read-ahead.ts). `gpu` may be a function that starts the GPU:
 * it is called once the first records are being read, so that starting the device and reading overlap.
 */
export async function loadSessionFromPackage(gpu: GpuContext | (() => Promise<GpuContext>), files: ModelFiles, options: StoreLoadOptions = {}, onProgress?: ReadProgress): Promise<ModelSession> {
  const { manifest, read } = await openPackageAhead(files, options.timings);
  const ctx = typeof gpu === 'function' ? await timed(options.timings, 'device', gpu) : gpu;
  return sessionFrom(ctx, manifest, read, options, onProgress);
}
