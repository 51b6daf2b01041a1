// Exports a Hub-layout Llama 4 checkpoint (multimodal `llama4` with a text_config, or text-only `llama4_text`;
// model.safetensors or a sharded index; bf16/f16/f32) to the folder layout transformers.js loads:
//   config.json (llama4_text), generation_config.json, tokenizer files, onnx/model_q4.onnx (+ model_q4.onnx_data
//   when the weights would push the protobuf past its 2 GB limit).
// Weights come through the engine's own checkpoint walk (worker/model/engine-tensors.ts) and quantizer, so the
// int4 values transformers.js multiplies are exactly the ones TabScout's q4 path multiplies.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { dequantizeQ4, quantizeQ4 } from '../../kernels/linear/q4-format.ts';
import { parseConfig, type ModelConfig } from '../../worker/model/config.ts';
import { engineTensors, keys, type MatrixPart } from '../../worker/model/engine-tensors.ts';
import { readCheckpointIndex } from '../../worker/model/safetensors.ts';
import { GraphBuilder, InitializerStore } from './graph.ts';
import { graphKeys, initializerNames, Llama4Graph, type GraphOptions, type LinearRef } from './llama4-graph.ts';
import { q4ToMatMulNBits } from './matmul-nbits.ts';
import { DataType, encodeModel } from './onnx-proto.ts';

export const ONNX_FILE = 'model_q4.onnx';
export const ONNX_DATA_FILE = `${ONNX_FILE}_data`;
/** Above this many bytes of weights the model keeps them in the external data file (protobuf's limit is 2 GiB). */
const INLINE_LIMIT = 1.8e9;

export interface ExportOptions {
  /** weights in onnx/model_q4.onnx_data: 'auto' (when the model would exceed ~1.8 GB), or always / never */
  externalData?: 'auto' | boolean;
  graph?: GraphOptions;
}

export interface ExportResult {
  onnxPath: string;
  /** the external data file, when one was written */
  dataPath: string | null;
  onnxBytes: number;
  dataBytes: number;
}

/** Bytes the text weights take in the export (int4 + f32 scales for q4-able linears, f32 for the rest). */
async function estimateBytes(files: FsModelFiles, config: ModelConfig): Promise<number> {
  const prefix = `${config.textPrefix}model.`;
  let bytes = 0;
  for (const t of (await readCheckpointIndex(files)).values()) {
    if (!t.name.startsWith(prefix) && !t.name.startsWith(`${config.textPrefix}lm_head`)) continue;
    const n = t.shape.reduce((a, b) => a * b, 1);
    bytes += t.name.includes('embed_tokens') ? n * 4 : t.shape[t.shape.length - 1] % 32 === 0 ? n * 0.625 : n * 4;
  }
  return bytes;
}

export async function exportOnnxModel(modelDir: string, outDir: string, options: ExportOptions = {}): Promise<ExportResult> {
  const files = new FsModelFiles(modelDir);
  const config = parseConfig(JSON.parse(await files.text('config.json')));
  const c = config.text;
  mkdirSync(join(outDir, 'onnx'), { recursive: true });
  const onnxPath = join(outDir, 'onnx', ONNX_FILE);
  const dataPath = join(outDir, 'onnx', ONNX_DATA_FILE);
  const want = options.externalData ?? 'auto';
  const external = want === 'auto' ? (await estimateBytes(files, config)) > INLINE_LIMIT : want;
  const store = new InitializerStore(external ? { path: dataPath, location: ONNX_DATA_FILE } : null);
  const g = new GraphBuilder(store);
  const weights = new Map<string, LinearRef>();

  const addLinear = (key: string, part: MatrixPart) => {
    if (!(part.data instanceof Float32Array)) throw new Error(`${key}: expected f32 values from the checkpoint`);
    if (key.endsWith('gate_up')) {
      // stacked by the engine (gate rows, then up rows); two weights in the graph. Q4_0 blocks lie within rows, so
      // splitting rows changes no quantized value.
      const F = part.rows / 2, half = F * part.cols;
      addLinear(graphKeys.gate(key), { ...part, rows: F, data: part.data.subarray(0, half) });
      addLinear(graphKeys.up(key), { ...part, rows: F, data: part.data.subarray(half) });
      return;
    }
    const names = initializerNames(key);
    if (part.format === 'q4') {
      const w = q4ToMatMulNBits(quantizeQ4(part.data, part.rows, part.cols), part.rows, part.cols);
      g.weight(names.qweight, DataType.UINT8, [w.n, w.k / 32, 16], w.b);
      g.weight(names.scales, DataType.FLOAT, [w.n * (w.k / 32)], w.scales);
    } else {
      const t = new Float32Array(part.data.length);
      for (let r = 0; r < part.rows; r++) for (let col = 0; col < part.cols; col++) t[col * part.rows + r] = part.data[r * part.cols + col];
      g.weight(names.weightT, DataType.FLOAT, [part.cols, part.rows], t);
    }
    weights.set(key, { format: part.format, rows: part.rows, cols: part.cols });
  };

  let tiedEmbedding: MatrixPart | null = null;
  try {
    for await (const t of engineTensors(files, config, 'q4')) {
      const part = t.parts[0];
      if (!(part.data instanceof Float32Array)) throw new Error(`${t.key}: expected f32 values from the checkpoint`);
      if (t.kind === 'vector') {
        g.weight(initializerNames(t.key).vector, DataType.FLOAT, [part.cols], part.data);
      } else if (t.kind === 'expert') {
        for (const p of t.parts) addLinear(graphKeys.expertPart(t.layer!, t.expert!, p.part as 'gate_up' | 'down'), p);
      } else if (t.key === keys.embed) {
        // Gather reads a float table: the Q4_0 values, dequantized (the engine's embedding is q4 too)
        const table = part.format === 'q4' ? dequantizeQ4(quantizeQ4(part.data, part.rows, part.cols), part.rows, part.cols) : part.data;
        g.weight(initializerNames(graphKeys.embedTable).vector, DataType.FLOAT, [part.rows, part.cols], table);
        if (c.tieWordEmbeddings) tiedEmbedding = part;
      } else {
        addLinear(t.key, part);
      }
    }
    // a tied checkpoint without its own lm_head projects onto the embedding matrix
    if (!weights.has(keys.lmHead) && tiedEmbedding) addLinear(keys.lmHead, tiedEmbedding);
    new Llama4Graph(g, c, weights, options.graph).build();
  } finally {
    store.close();
  }
  const model = encodeModel({
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    producerName: 'tabscout-export-onnx',
    graphName: 'llama4_text',
    nodes: g.nodes,
    initializers: store.tensors,
    inputs: g.inputs,
    outputs: g.outputs,
  });
  if (model.length > 2 ** 31 - 1) throw new Error(`the ONNX file would be ${model.length} bytes, over protobuf's 2 GiB; export with externalData: true`);
  const fd = openSync(onnxPath, 'w');
  try {
    for (const piece of model.finish()) writeSync(fd, piece);
  } finally {
    closeSync(fd);
  }
  await writeSideFiles(modelDir, outDir, config, external);
  return { onnxPath, dataPath: external ? dataPath : null, onnxBytes: model.length, dataBytes: store.externalBytes };
}

/** config.json as transformers.js reads a llama4_text decoder, generation_config.json and the tokenizer files. */
async function writeSideFiles(modelDir: string, outDir: string, config: ModelConfig, external: boolean): Promise<void> {
  const source = JSON.parse(await new FsModelFiles(modelDir).text('config.json')) as Record<string, unknown>;
  const text = (config.architecture === 'Llama4ForConditionalGeneration' ? source.text_config : source) as Record<string, unknown>;
  const out: Record<string, unknown> = {
    ...text,
    architectures: ['Llama4ForCausalLM'],
    model_type: 'llama4_text',
    // the KV cache shapes transformers.js derives (num_key_value_heads, head_dim, num_hidden_layers) are all here
    head_dim: config.text.headDim,
    num_key_value_heads: config.text.numKvHeads,
    'transformers.js_config': { dtype: 'q4', ...(external ? { use_external_data_format: { [ONNX_FILE]: 1 } } : {}) },
  };
  writeFileSync(join(outDir, 'config.json'), JSON.stringify(out, null, 2) + '\n');
  for (const name of ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'special_tokens_map.json']) {
    if (existsSync(join(modelDir, name))) writeFileSync(join(outDir, name), readFileSync(join(modelDir, name))); // not copyFile: the source may be read-only
  }
  if (!existsSync(join(outDir, 'generation_config.json'))) {
    const t = config.text;
    writeFileSync(join(outDir, 'generation_config.json'), JSON.stringify({ bos_token_id: t.bosTokenId, eos_token_id: t.eosTokenIds, pad_token_id: t.padTokenId }, null, 2) + '\n');
  }
}
