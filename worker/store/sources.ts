// What a model can be imported from (design decision 6): a Hugging Face repo or any base URL with the same layout,
// a local folder, and a pre-quantized package. The first two are checkpoints (records made here, quantized as the
// tensors arrive); a package brings its records and their hashes.
import { EngineError } from '../../protocol/errors.ts';
import type { WeightFormat } from '../../kernels/linear/weight-format.ts';
import { parseConfig, type ModelConfig } from '../model/config.ts';
import { readCheckpointIndex, type ModelFiles } from '../model/safetensors.ts';
import { CheckpointRecords, DEFAULT_MAX_RANGE_BYTES } from './checkpoint-records.ts';
import { FORMAT_VERSION, MAX_RECORD_BYTES, MODEL_TEXT_FILES, parseManifest, RECORD_HEADER_BYTES, type Manifest, type RecordEntry } from './format.ts';
import type { ModelSource } from '../../protocol/api.ts';
import { HttpFiles, type HttpOptions } from './http.ts';
import { checkpointHasLmHead, modelDigest, planRecords, recordEntry, tensorLayout, visionFile, type PlannedRecord } from './layout.ts';
import { recordFilePayload } from './package.ts';

export interface ResolveOptions {
  /** q4 (default) or f32; a package has its own */
  weights?: WeightFormat;
  maxRecordBytes?: number;
  /** store id (default: made from the source) */
  id?: string;
  /** keep the vision tower when the model has one (default true) */
  vision?: boolean;
  name?: string;
}

/** A source after its config, tokenizer and index are read: the manifest to fill, and a way to make each record. */
export interface ResolvedModel {
  /** records in order; sha256 is the expected hash (package) or null (made here) */
  manifest: Manifest;
  config: ModelConfig;
  /** the payload of a record, as the source gives it (the importer checks size and hash) */
  record(entry: RecordEntry): Promise<Uint8Array>;
  /** what to name in an error about this record: its file, or the tensor it is made from */
  describe(entry: RecordEntry): string;
}

export interface ImportSource {
  readonly info: ModelSource;
  resolve(options: ResolveOptions): Promise<ResolvedModel>;
}

/** Where files picked without their folder's name come from (messages say it; the model is named from its config). */
export const UNNAMED_FOLDER = 'the picked folder';

/**
 * A model's name: the last part of where it came from (repo id, URL, folder name), or, for files picked without
 * their folder's name, what its config.json says (`_name_or_path`, else its architecture or model type).
 */
export function modelName(info: ModelSource, configJson: string): string {
  const last = (path: string) => path.replace(/\/+$/, '').split('/').pop() ?? '';
  if (info.location !== UNNAMED_FOLDER && last(info.location)) return last(info.location);
  const config = JSON.parse(configJson) as { _name_or_path?: unknown; architectures?: unknown; model_type?: unknown };
  const named = typeof config._name_or_path === 'string' ? last(config._name_or_path) : '';
  const architecture = Array.isArray(config.architectures) && typeof config.architectures[0] === 'string' ? config.architectures[0] : '';
  return named || architecture || (typeof config.model_type === 'string' && config.model_type) || 'model';
}

/** A readable store id from a source: "org/name@main q4" → "org--name@main-q4". */
export function defaultModelId(info: ModelSource, weights: WeightFormat): string {
  const base = info.location.replace(/^https?:\/\//, '').replace(/\/+$/, '').replace(/[^\w.@-]+/g, '--');
  return `${base}${info.revision ? '@' + info.revision : ''}-${weights}`;
}

async function readTexts(files: ModelFiles): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of MODEL_TEXT_FILES) {
    const t = await files.maybeText(name);
    if (t !== null) out[name] = t;
  }
  if (!out['config.json']) throw new EngineError('bad-model', `config.json is missing (${files.label}): this does not look like a Hugging Face model folder`);
  if (!out['tokenizer.json']) throw new EngineError('bad-model', `tokenizer.json is missing (${files.label})`);
  return out;
}

/** A Hugging Face checkpoint read through any ModelFiles (HTTP, a folder, the file system). */
export function checkpointSource(files: ModelFiles, info: ModelSource, options: { maxRangeBytes?: number } = {}): ImportSource {
  return {
    info,
    async resolve(o) {
      const weights = o.weights ?? 'q4';
      const maxRecordBytes = o.maxRecordBytes ?? MAX_RECORD_BYTES;
      const texts = await readTexts(files);
      const config = parseConfig(JSON.parse(texts['config.json']));
      const index = await readCheckpointIndex(files);
      const vision = o.vision === false ? null : visionFile(config, index);
      const planned = planRecords(tensorLayout(config, weights, checkpointHasLmHead(config, index)), maxRecordBytes, vision);
      const byKey = new Map(planned.map((r) => [r.key, r]));
      const maker = new CheckpointRecords(files, index, options.maxRangeBytes ?? DEFAULT_MAX_RANGE_BYTES, vision);
      const name = o.name ?? modelName(info, texts['config.json']);
      const manifest: Manifest = {
        formatVersion: FORMAT_VERSION,
        id: o.id ?? defaultModelId(info.location === UNNAMED_FOLDER ? { ...info, location: name } : info, weights),
        name,
        source: info,
        date: new Date().toISOString(),
        weights,
        digest: await modelDigest(texts['config.json'], weights, maxRecordBytes, index.values(), vision !== null),
        maxRecordBytes,
        files: texts,
        totalBytes: planned.reduce((s, r) => s + r.bytes, 0),
        records: planned.map(recordEntry),
      };
      const plannedOf = (entry: RecordEntry): PlannedRecord => {
        const r = byKey.get(entry.key);
        if (!r) throw new Error(`record ${entry.key} is not in the plan`);
        return r;
      };
      return {
        manifest,
        config,
        record: (entry) => maker.payload(plannedOf(entry)),
        describe: (entry) => `${entry.chunk ? entry.key : entry.parts[0].tensor} (from ${files.label})`,
      };
    },
  };
}

/** A package made by `npm run convert`, read through any ModelFiles (HTTP or the file system). */
export function packageSource(files: ModelFiles, info: ModelSource): ImportSource {
  return {
    info,
    async resolve(o) {
      const manifest = parseManifest(JSON.parse(await files.text('manifest.json')), `${files.label}manifest.json`);
      const config = parseConfig(JSON.parse(manifest.files['config.json']));
      if (manifest.records.some((r) => !r.file || !r.sha256)) throw new EngineError('bad-model', `${files.label}manifest.json: a package lists a file and a SHA-256 for every record`);
      const stored: Manifest = { ...manifest, id: o.id ?? manifest.id, name: o.name ?? manifest.name, source: info, date: new Date().toISOString() };
      return {
        manifest: stored,
        config,
        record: async (entry) => recordFilePayload(await files.range(entry.file!, 0, RECORD_HEADER_BYTES + entry.bytes), manifest, entry, entry.file!),
        describe: (entry) => `${entry.file} (${files.label})`,
      };
    },
  };
}

export interface HubOptions {
  /** branch, tag or commit (default main) */
  revision?: string;
  /** a Hugging Face access token, sent as Bearer (gated and private repos) */
  token?: string;
  /** default https://huggingface.co */
  endpoint?: string;
  http?: HttpOptions;
  maxRangeBytes?: number;
}

/** The base URL of a Hub repo's files at a revision: <endpoint>/<repo>/resolve/<revision>/ */
export function hubBaseUrl(repo: string, revision = 'main', endpoint = 'https://huggingface.co'): string {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo)) throw new EngineError('bad-model', `"${repo}" is not a Hugging Face repo id (expected owner/name, e.g. meta-llama/Llama-4-Scout-17B-16E-Instruct)`);
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/`;
}

/** A Hugging Face repo by id. */
export function hubSource(repo: string, options: HubOptions = {}): ImportSource {
  const revision = options.revision ?? 'main';
  const files = new HttpFiles(hubBaseUrl(repo, revision, options.endpoint), {
    ...options.http,
    headers: { ...options.http?.headers, ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}) },
    authError: (status) =>
      new EngineError(
        'auth-required',
        options.token
          ? `Hugging Face refused the access token for ${repo} (HTTP ${status}). Accept the model's license on its page (huggingface.co/${repo}) with the account of the token, check that the token can read it, and try again.`
          : `${repo} is gated or private (HTTP ${status}): enter a Hugging Face access token (huggingface.co/settings/tokens) from an account that accepted the model's license, and try again.`,
      ),
  });
  return checkpointSource(files, { kind: 'hub', location: repo, revision }, { maxRangeBytes: options.maxRangeBytes });
}

/** Any base URL laid out like a Hub repo (config.json, tokenizer files, safetensors next to each other). */
export function urlSource(baseUrl: string, options: { token?: string; http?: HttpOptions; maxRangeBytes?: number } = {}): ImportSource {
  const files = new HttpFiles(baseUrl, { ...options.http, headers: { ...options.http?.headers, ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}) } });
  return checkpointSource(files, { kind: 'url', location: baseUrl, revision: null }, { maxRangeBytes: options.maxRangeBytes });
}

/** A package by the URL of its folder (where manifest.json is). */
export function packageUrlSource(baseUrl: string, options: { http?: HttpOptions } = {}): ImportSource {
  return packageSource(new HttpFiles(baseUrl, options.http), { kind: 'package', location: baseUrl, revision: null });
}
