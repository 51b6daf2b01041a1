// Turns a Hugging Face Llama 4 checkpoint into a weight package for static hosting: manifest.json + one file per
// record (docs/STORE.md). Tensors come from engineTensors() (the engine's layout contract) and are quantized here,
// so the app imports the package with no quantization work.
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { quantizeQ4, type Q4Data } from '../kernels/linear/q4-format.ts';
import type { WeightFormat } from '../kernels/linear/weight-format.ts';
import { parseConfig } from '../worker/model/config.ts';
import { engineTensors, type EngineTensor } from '../worker/model/engine-tensors.ts';
import { readCheckpointIndex } from '../worker/model/safetensors.ts';
import { FORMAT_VERSION, MAX_RECORD_BYTES, MODEL_TEXT_FILES, sha256Hex, writePart, type Manifest } from '../worker/store/format.ts';
import { checkpointHasLmHead, modelDigest, planRecords, recordEntry, tensorLayout, visionFile, type LayoutTensor, type PlannedRecord } from '../worker/store/layout.ts';
import { CheckpointRecords } from '../worker/store/checkpoint-records.ts';
import { recordFileBytes, recordFileName } from '../worker/store/package.ts';
import { FsModelFiles } from './fs-model-files.ts';

export interface ConvertOptions {
  weights?: WeightFormat;
  id?: string;
  name?: string;
  maxRecordBytes?: number;
  /** keep the vision tower when the model has one (default true) */
  vision?: boolean;
  log?: (line: string) => void;
}

function defaultName(dir: string): string {
  const b = basename(resolve(dir));
  return b === 'model' ? basename(dirname(resolve(dir))) : b;
}

/** Checks that a tensor from engineTensors() has the shape the record plan expects (the two must never drift). */
function checkLayout(t: EngineTensor, l: LayoutTensor | undefined): void {
  const same = l && l.key === t.key && l.kind === t.kind && l.parts.length === t.parts.length && l.parts.every((p, i) => p.part === t.parts[i].part && p.format === t.parts[i].format && p.rows === t.parts[i].rows && p.cols === t.parts[i].cols);
  if (!same) throw new Error(`engineTensors yielded ${t.key} where the store layout expects ${l?.key ?? 'nothing'}: worker/store/layout.ts and worker/model/engine-tensors.ts disagree`);
}

export async function convertCheckpoint(modelDir: string, outDir: string, options: ConvertOptions = {}): Promise<Manifest> {
  const mode = options.weights ?? 'q4';
  const maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  const log = options.log ?? (() => {});
  const files = new FsModelFiles(modelDir);
  const configText = await files.text('config.json');
  const config = parseConfig(JSON.parse(configText));
  const texts: Record<string, string> = {};
  for (const name of MODEL_TEXT_FILES) {
    const t = await files.maybeText(name);
    if (t !== null) texts[name] = t;
  }
  const index = await readCheckpointIndex(files);
  const layout = tensorLayout(config, mode, checkpointHasLmHead(config, index));
  const vision = options.vision === false ? null : visionFile(config, index);
  const planned = planRecords(layout, maxRecordBytes, vision);
  const digest = await modelDigest(configText, mode, maxRecordBytes, index.values(), vision !== null);
  const name = options.name ?? defaultName(modelDir);
  await mkdir(join(outDir, 'records'), { recursive: true });

  const done: PlannedRecord[] = [];
  const write = async (r: PlannedRecord, payload: Uint8Array) => {
    r.sha256 = await sha256Hex(payload);
    r.file = recordFileName(r.key);
    const f = await open(join(outDir, r.file), 'w');
    try {
      for (const chunk of recordFileBytes({ digest }, r, payload)) await f.write(chunk);
    } finally {
      await f.close();
    }
    done.push(r);
  };
  let next = 0;
  let i = 0;
  for await (const t of engineTensors(files, config, mode)) {
    checkLayout(t, layout[i++]);
    const whole = t.parts.map((p): Float32Array | Q4Data => (p.format === 'q4' && p.data instanceof Float32Array ? quantizeQ4(p.data, p.rows, p.cols) : p.data));
    for (; next < planned.length && planned[next].tensor?.key === t.key; next++) {
      const r = planned[next];
      const payload = new Uint8Array(r.bytes);
      for (const entry of r.parts) writePart(payload, entry, whole[t.parts.findIndex((p) => p.part === entry.part)]);
      await write(r, payload);
    }
    log(`${t.key}`);
  }
  if (i !== layout.length) throw new Error(`engineTensors yielded ${i} tensors, the store layout has ${layout.length}`);
  // the vision tower is kept as the checkpoint has it (the engine quantizes it at load)
  const chunks = new CheckpointRecords(files, index, undefined, vision);
  for (; next < planned.length && planned[next].chunk; next++) await write(planned[next], await chunks.payload(planned[next]));
  if (done.length !== planned.length) throw new Error(`${done.length} records written of ${planned.length} planned`);
  const manifest: Manifest = {
    formatVersion: FORMAT_VERSION,
    id: options.id ?? `${name}-${mode}`,
    name,
    source: { kind: 'checkpoint', location: basename(resolve(modelDir)), revision: null },
    date: new Date().toISOString(),
    weights: mode,
    digest,
    maxRecordBytes,
    files: texts,
    totalBytes: done.reduce((s, r) => s + r.bytes, 0),
    records: done.map(recordEntry),
  };
  // manifest.json last, by rename: a package without one is visibly unfinished
  await writeFile(join(outDir, 'manifest.json.tmp'), JSON.stringify(manifest, null, 1));
  await rename(join(outDir, 'manifest.json.tmp'), join(outDir, 'manifest.json'));
  return manifest;
}
