// A ModelSession from stored weights: the same session ModelSession.load() builds from a checkpoint, with the text
// weights streamed from records (q4 already quantized) and config, tokenizer and chat template from the manifest.
import { EngineError, type LoadOptions } from '../api.ts';
import type { GpuContext } from '../../kernels/runtime.ts';
import type { ReadProgress } from '../model/engine-tensors.ts';
import type { ModelFiles } from '../model/safetensors.ts';
import { ModelSession } from '../session.ts';
import type { Manifest, RecordEntry } from './format.ts';
import { openPackage } from './package.ts';
import { storeTensors } from './reader.ts';
import type { WeightStore } from './store.ts';

/** The manifest's text files as ModelFiles (config.json, tokenizer.json, chat template, processor configs). */
export function manifestFiles(manifest: Manifest): ModelFiles {
  const missing = (name: string) => new EngineError('bad-model', `${name} is not kept in the stored model ${manifest.name} (the store holds text weights only)`);
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
};

function sessionFrom(ctx: GpuContext, manifest: Manifest, read: (entry: RecordEntry) => Promise<Uint8Array>, options: StoreLoadOptions, onProgress?: ReadProgress): Promise<ModelSession> {
  // the vision tower is not stored (docs/STORE.md): a stored model reads text only
  const { verify: _, ...rest } = options;
  return ModelSession.load(ctx, manifestFiles(manifest), { ...rest, weights: manifest.weights, vision: false }, undefined, () => storeTensors(manifest, read, onProgress));
}

/** Loads a completely stored model from the weight store. */
export async function loadSessionFromStore(ctx: GpuContext, store: WeightStore, id: string, options: StoreLoadOptions = {}, onProgress?: ReadProgress): Promise<ModelSession> {
  const manifest = await store.manifest(id);
  return sessionFrom(ctx, manifest, (entry) => store.readRecord(manifest, entry, options.verify), options, onProgress);
}

/** Loads a model straight from a package (a folder in Node, a URL), every record checked against its hash. */
export async function loadSessionFromPackage(ctx: GpuContext, files: ModelFiles, options: StoreLoadOptions = {}, onProgress?: ReadProgress): Promise<ModelSession> {
  const { manifest, read } = await openPackage(files);
  return sessionFrom(ctx, manifest, read, options, onProgress);
}
