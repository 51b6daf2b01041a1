// A ModelSession from stored weights: the same session ModelSession.load() builds from a checkpoint, with the text
// weights streamed from records (q4 already quantized), config, tokenizer and chat template from the manifest, and
// the vision tower from its kept safetensors file.
import type { ExpertSource } from '../pager/pager.ts';
import { EngineError } from '../../protocol/errors.ts';
import type { LoadOptions } from '../../protocol/api.ts';
import type { GpuContext } from '../../kernels/runtime.ts';
import type { ReadProgress } from '../model/engine-tensors.ts';
import type { ModelFiles } from '../model/safetensors.ts';
import { ModelSession } from '../session.ts';
import { VISION_FILE, type Manifest, type RecordEntry } from './format.ts';
import { openPackage } from './package.ts';
import { storeTensors } from './reader.ts';
import type { WeightStore } from './store.ts';

/**
 * A stored model as ModelFiles: the manifest's text files (config.json, tokenizer.json, chat template, processor
 * configs), and the kept vision file as model.safetensors, read chunk record by chunk record (the last one cached,
 * as the vision loader reads tensor after tensor).
 */
export function manifestFiles(manifest: Manifest, read: (entry: RecordEntry) => Promise<Uint8Array>): ModelFiles {
  const chunks = manifest.records.filter((r) => r.chunk?.file === VISION_FILE);
  const size = chunks.length ? chunks[chunks.length - 1].chunk!.end : 0;
  const missing = (name: string) => new EngineError('bad-model', `${name} is not kept in the stored model ${manifest.name}`);
  const isVision = (name: string) => name === 'model.safetensors' && chunks.length > 0;
  let cached: { key: string; payload: Uint8Array } | null = null;
  const chunk = async (r: RecordEntry) => {
    if (cached?.key !== r.key) cached = { key: r.key, payload: await read(r) };
    return cached.payload;
  };
  return {
    label: `stored model ${manifest.name}`,
    maybeText: async (name) => manifest.files[name] ?? null,
    text: async (name) => {
      const t = manifest.files[name];
      if (t === undefined) throw missing(name);
      return t;
    },
    size: async (name) => {
      if (!isVision(name)) throw missing(name);
      return size;
    },
    range: async (name, begin, end) => {
      if (!isVision(name)) throw missing(name);
      end = Math.min(end, size);
      const out = new Uint8Array(Math.max(0, end - begin));
      for (const r of chunks) {
        const { begin: b, end: e } = r.chunk!;
        const lo = Math.max(begin, b), hi = Math.min(end, e);
        if (lo < hi) out.set((await chunk(r)).subarray(lo - b, hi - b), lo - begin);
      }
      return out;
    },
  };
}

/** Whether a stored model kept its vision tower. */
export function hasVision(manifest: Manifest): boolean {
  return manifest.records.some((r) => r.chunk?.file === VISION_FILE);
}

export type StoreLoadOptions = Omit<LoadOptions, 'weights'> & {
  /** check every record's SHA-256 while loading (default false: model, key and size are always checked) */
  verify?: boolean;
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
  return ModelSession.load(ctx, manifestFiles(manifest, read), { ...rest, weights: manifest.weights, vision, textTensors: () => storeTensors(manifest, read, onProgress), expertSource: experts });
}

/** Loads a completely stored model from the weight store. */
export async function loadSessionFromStore(ctx: GpuContext, store: WeightStore, id: string, options: StoreLoadOptions = {}, onProgress?: ReadProgress): Promise<ModelSession> {
  const manifest = await store.manifest(id);
  return sessionFrom(ctx, manifest, (entry) => store.readRecord(manifest, entry, options.verify), options, onProgress, store.experts(manifest));
}

/** Loads a model straight from a package (a folder in Node, a URL), every record checked against its hash. */
export async function loadSessionFromPackage(ctx: GpuContext, files: ModelFiles, options: StoreLoadOptions = {}, onProgress?: ReadProgress): Promise<ModelSession> {
  const { manifest, read } = await openPackage(files);
  return sessionFrom(ctx, manifest, read, options, onProgress);
}
