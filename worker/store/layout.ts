// Which records a model has, from its config alone: the engine tensors in the order engineTensors() yields them
// (engine-tensors.ts is the contract; layout.test.ts checks this list against it tensor by tensor), where each
// comes from in a Hugging Face checkpoint, and how they are cut into records.
import type { WeightFormat } from '../../kernels/linear/weight-format.ts';
import type { ModelConfig } from '../model/config.ts';
import { formatFor, keys, type EngineTensor, type TensorFormat } from '../model/engine-tensors.ts';
import type { TensorInfo } from '../model/safetensors.ts';
import { FORMAT_VERSION, layoutRecord, segmentRows, sha256Hex, VISION_FILE, type RecordEntry } from './format.ts';

/**
 * Where the rows of an engine part come from: checkpoint matrices stacked along rows (a vector is one row), or
 * expert `expert` of an HF expert tensor [E, in, out] transposed to [out, in].
 */
export type PartSource =
  | { kind: 'rows'; tensors: { name: string; rows: number }[] }
  | { kind: 'expert'; name: string; expert: number; experts: number };

export interface LayoutPart {
  part: string;
  format: TensorFormat;
  rows: number;
  cols: number;
  source: PartSource;
}

export interface LayoutTensor {
  key: string;
  kind: EngineTensor['kind'];
  layer?: number;
  expert?: number;
  parts: LayoutPart[];
}

/** Every engine tensor of the text model, in engineTensors() order. hasLmHead: false for a tied checkpoint without lm_head. */
export function tensorLayout(config: ModelConfig, mode: WeightFormat, hasLmHead = true): LayoutTensor[] {
  const c = config.text;
  const p = config.textPrefix;
  const m = `${p}model.`;
  const H = c.hiddenSize;
  const out: LayoutTensor[] = [];
  const rows = (...tensors: [string, number][]): PartSource => ({ kind: 'rows', tensors: tensors.map(([name, r]) => ({ name, rows: r })) });
  const linear = (key: string, name: string, r: number, cols: number, f32 = false) =>
    out.push({ key, kind: 'linear', parts: [{ part: 'weight', format: f32 ? 'f32' : formatFor(mode, cols), rows: r, cols, source: rows([name, r]) }] });
  const stacked = (key: string, gate: string, up: string, F: number) =>
    out.push({ key, kind: 'linear', parts: [{ part: 'weight', format: formatFor(mode, H), rows: 2 * F, cols: H, source: rows([gate, F], [up, F]) }] });
  const vector = (key: string, name: string) => out.push({ key, kind: 'vector', parts: [{ part: 'weight', format: 'f32', rows: 1, cols: H, source: rows([name, 1]) }] });

  linear(keys.embed, `${m}embed_tokens.weight`, c.vocabSize, H);
  for (let l = 0; l < c.numLayers; l++) {
    const L = `${m}layers.${l}.`;
    const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
    vector(keys.inputNorm(l), `${L}input_layernorm.weight`);
    linear(keys.attention(l, 'q'), `${L}self_attn.q_proj.weight`, qDim, H);
    linear(keys.attention(l, 'k'), `${L}self_attn.k_proj.weight`, kvDim, H);
    linear(keys.attention(l, 'v'), `${L}self_attn.v_proj.weight`, kvDim, H);
    linear(keys.attention(l, 'o'), `${L}self_attn.o_proj.weight`, H, qDim);
    vector(keys.postAttentionNorm(l), `${L}post_attention_layernorm.weight`);
    const f = `${L}feed_forward.`;
    if (c.isMoe[l]) {
      const F = c.intermediateSize, E = c.numExperts;
      linear(keys.router(l), `${f}router.weight`, E, H, true);
      stacked(keys.shared(l, 'gate_up'), `${f}shared_expert.gate_proj.weight`, `${f}shared_expert.up_proj.weight`, F);
      linear(keys.shared(l, 'down'), `${f}shared_expert.down_proj.weight`, H, F);
      for (let e = 0; e < E; e++) {
        out.push({
          key: keys.expert(l, e),
          kind: 'expert',
          layer: l,
          expert: e,
          parts: [
            { part: 'gate_up', format: formatFor(mode, H), rows: 2 * F, cols: H, source: { kind: 'expert', name: `${f}experts.gate_up_proj`, expert: e, experts: E } },
            { part: 'down', format: formatFor(mode, F), rows: H, cols: F, source: { kind: 'expert', name: `${f}experts.down_proj`, expert: e, experts: E } },
          ],
        });
      }
    } else {
      const F = c.intermediateSizeMlp;
      stacked(keys.mlp(l, 'gate_up'), `${f}gate_proj.weight`, `${f}up_proj.weight`, F);
      linear(keys.mlp(l, 'down'), `${f}down_proj.weight`, H, F);
    }
  }
  vector(keys.norm, `${m}norm.weight`);
  if (hasLmHead) linear(keys.lmHead, `${p}lm_head.weight`, c.vocabSize, H);
  return out;
}

/** Whether the checkpoint has its own lm_head (engineTensors skips it for a tied checkpoint that lacks it). */
export function checkpointHasLmHead(config: ModelConfig, tensors: Map<string, TensorInfo>): boolean {
  return !(config.text.tieWordEmbeddings && !tensors.has(`${config.textPrefix}lm_head.weight`));
}

/** A record key for segment i of n of a tensor: the tensor key itself when it is not split. */
export function segmentKey(tensor: string, i: number, n: number): string {
  return n === 1 ? tensor : `${tensor}@${i}`;
}

export interface PlannedRecord extends RecordEntry {
  /** the layout tensor the record belongs to, with its checkpoint sources (none for a chunk of the vision file) */
  tensor?: LayoutTensor;
}

/** A safetensors file made of some checkpoint tensors, as stored: its header, and where each tensor's bytes go. */
export interface VirtualFile {
  name: string;
  bytes: number;
  /** 8-byte length + JSON header (padded with spaces to a multiple of 8) */
  header: Uint8Array;
  tensors: { source: TensorInfo; begin: number; end: number }[];
}

/** Whether a checkpoint tensor belongs to the text model (engineTensors' tensors and anything else under it). */
export function isTextTensor(config: ModelConfig, name: string): boolean {
  return name.startsWith(`${config.textPrefix}model.`) || name.startsWith(`${config.textPrefix}lm_head`);
}

/** The vision tower and projector tensors of a checkpoint as one safetensors file (null: text-only model). */
export function visionFile(config: ModelConfig, tensors: Map<string, TensorInfo>): VirtualFile | null {
  if (!config.vision) return null;
  const list = [...tensors.values()].filter((t) => !isTextTensor(config, t.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (list.length === 0) return null;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', source: 'tabscout' } };
  let offset = 0;
  const placed = list.map((t) => {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.end - t.begin] };
    offset += t.end - t.begin;
    return { source: t, begin: offset - (t.end - t.begin), end: offset };
  });
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return { name: VISION_FILE, bytes: head.byteLength + offset, header: head, tensors: placed.map((p) => ({ ...p, begin: p.begin + head.byteLength, end: p.end + head.byteLength })) };
}

/**
 * Records of a model: each linear cut by rows into records of at most maxRecordBytes; each expert one record with
 * gate_up and down together (never split: in f32 mode a real model's expert can exceed maxRecordBytes); vectors one
 * record each; then the vision file, if any, in chunks of at most maxRecordBytes.
 */
export function planRecords(layout: LayoutTensor[], maxRecordBytes: number, vision: VirtualFile | null = null): PlannedRecord[] {
  const out: PlannedRecord[] = [];
  for (const t of layout) {
    const base = { tensor: t.key, kind: t.kind, ...(t.layer !== undefined ? { layer: t.layer, expert: t.expert } : {}) };
    if (t.kind === 'expert') {
      out.push({ ...layoutRecord(t.key, t.parts.map((p) => ({ ...base, part: p.part, format: p.format, rows: p.rows, cols: p.cols, rowStart: 0, rowEnd: p.rows }))), tensor: t });
      continue;
    }
    const p = t.parts[0];
    const segments = segmentRows(p.format, p.rows, p.cols, maxRecordBytes);
    segments.forEach(([r0, r1], i) => {
      const key = segmentKey(t.key, i, segments.length);
      out.push({ ...layoutRecord(key, [{ ...base, part: p.part, format: p.format, rows: p.rows, cols: p.cols, rowStart: r0, rowEnd: r1 }]), tensor: t });
    });
  }
  if (vision) {
    const n = Math.ceil(vision.bytes / maxRecordBytes);
    for (let i = 0; i < n; i++) {
      const begin = i * maxRecordBytes, end = Math.min(vision.bytes, begin + maxRecordBytes);
      out.push({ key: segmentKey(vision.name, i, n), bytes: end - begin, sha256: null, parts: [], chunk: { file: vision.name, begin, end } });
    }
  }
  return out;
}

/** A planned record as the manifest keeps it (no layout details). */
export function recordEntry(r: PlannedRecord): RecordEntry {
  const { tensor: _, ...entry } = r;
  return entry;
}

/**
 * Identity of what a model's records are made from: format version, weights mode, record size limit, whether the
 * vision file is kept, config.json and every checkpoint tensor's name, dtype, shape and place. Two imports of the same checkpoint (Hub, folder or
 * converted package) get the same digest; a changed repo or another model gets another.
 */
export async function modelDigest(configText: string, mode: WeightFormat, maxRecordBytes: number, tensors: Iterable<TensorInfo>, vision: boolean): Promise<string> {
  const list = [...tensors].map((t) => [t.name, t.dtype, t.shape, t.file, t.begin, t.end]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const text = JSON.stringify({ formatVersion: FORMAT_VERSION, mode, maxRecordBytes, vision, config: configText, tensors: list });
  return sha256Hex(new TextEncoder().encode(text));
}
