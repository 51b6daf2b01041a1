// Llama 4 configuration from a Hugging Face config.json: both rope forms (`rope_parameters`, and the older
// `rope_scaling` + `rope_theta`), Llama4ForConditionalGeneration (with text_config) and text-only Llama4ForCausalLM.
// Derivations follow HF configuration_llama4.py (see ../shared/docs/llama4-spec.md §1).
import type { RopeScaling } from '../../kernels/rope/rope.ts';
import { EngineError } from '../../protocol/errors.ts';

export interface TextConfig {
  vocabSize: number;
  hiddenSize: number;
  /** routed and shared expert FFN width */
  intermediateSize: number;
  /** dense-layer FFN width */
  intermediateSizeMlp: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  numExperts: number;
  topK: number;
  /** per layer: MoE (true) or dense MLP */
  isMoe: boolean[];
  /** per layer: RoPE + chunked attention (true) or NoPE + full attention */
  usesRope: boolean[];
  attentionChunkSize: number;
  useQkNorm: boolean;
  attnTemperatureTuning: boolean;
  floorScale: number;
  attnScale: number;
  maxPositionEmbeddings: number;
  bosTokenId: number;
  eosTokenIds: number[];
  padTokenId: number | null;
  tieWordEmbeddings: boolean;
}

export interface VisionConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  imageSize: number;
  patchSize: number;
  pixelShuffleRatio: number;
  projectorInputDim: number;
  projectorOutputDim: number;
  visionOutputDim: number;
  ropeTheta: number;
}

export interface ModelConfig {
  architecture: 'Llama4ForConditionalGeneration' | 'Llama4ForCausalLM';
  text: TextConfig;
  vision: VisionConfig | null;
  imageTokenIndex: number | null;
  /** tensor name prefix of the text model: 'language_model.' for the multimodal checkpoint */
  textPrefix: string;
}

type Json = Record<string, unknown>;

function bad(message: string): EngineError {
  return new EngineError('bad-model', message);
}

function num(obj: Json, field: string, where: string, fallback?: number): number {
  const v = obj[field];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw bad(`config.json: ${where}${field} is missing`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`config.json: ${where}${field} must be a number, found ${JSON.stringify(v)}`);
  return v;
}

function positiveInt(obj: Json, field: string, where: string, fallback?: number): number {
  const v = num(obj, field, where, fallback);
  if (!Number.isInteger(v) || v <= 0) throw bad(`config.json: ${where}${field} must be a positive integer, found ${v}`);
  return v;
}

function parseRope(t: Json, where: string): { theta: number; scaling: RopeScaling } {
  const params = (t.rope_parameters ?? t.rope_scaling ?? null) as Json | null;
  const theta = num((params && params.rope_theta !== undefined ? params : t) as Json, 'rope_theta', where, 500000);
  const type = (params?.rope_type ?? params?.type ?? 'default') as string;
  if (type === 'default') return { theta, scaling: { type: 'default' } };
  if (type !== 'llama3') throw bad(`config.json: ${where}rope type "${type}" is not supported (expected "default" or "llama3")`);
  const w = `${where}rope_scaling.`;
  return {
    theta,
    scaling: {
      type: 'llama3',
      factor: num(params!, 'factor', w),
      lowFreqFactor: num(params!, 'low_freq_factor', w),
      highFreqFactor: num(params!, 'high_freq_factor', w),
      originalMaxPositionEmbeddings: num(params!, 'original_max_position_embeddings', w),
    },
  };
}

export function parseTextConfig(t: Json, where = ''): TextConfig {
  const modelType = t.model_type;
  if (modelType !== undefined && modelType !== 'llama4_text') {
    throw bad(`config.json: ${where}model_type is "${String(modelType)}"; TabScout runs Llama 4 ("llama4_text")`);
  }
  const hiddenSize = positiveInt(t, 'hidden_size', where);
  const numHeads = positiveInt(t, 'num_attention_heads', where);
  const numLayers = positiveInt(t, 'num_hidden_layers', where);
  const numKvHeads = positiveInt(t, 'num_key_value_heads', where, numHeads);
  if (numHeads % numKvHeads !== 0) throw bad(`config.json: ${where}num_attention_heads (${numHeads}) is not a multiple of num_key_value_heads (${numKvHeads})`);
  const interval = positiveInt(t, 'no_rope_layer_interval', where, 4);
  const noRope = (t.no_rope_layers as number[] | undefined) ?? [];
  const usesRope = noRope.length
    ? noRope.map((v) => v !== 0)
    : Array.from({ length: numLayers }, (_, i) => (i + 1) % interval !== 0);
  if (usesRope.length !== numLayers) throw bad(`config.json: ${where}no_rope_layers has ${usesRope.length} entries for ${numLayers} layers`);
  const step = positiveInt(t, 'interleave_moe_layer_step', where, 1);
  const moeList = (t.moe_layers as number[] | undefined) ?? Array.from({ length: Math.ceil((numLayers - (step - 1)) / step) }, (_, i) => step - 1 + i * step).filter((i) => i < numLayers);
  const isMoe = Array.from({ length: numLayers }, (_, i) => moeList.includes(i));
  const rope = parseRope(t, where);
  const eos = t.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? (eos as number[]) : typeof eos === 'number' ? [eos] : [];
  const act = t.hidden_act ?? 'silu';
  if (act !== 'silu') throw bad(`config.json: ${where}hidden_act is "${String(act)}"; Llama 4 uses "silu"`);
  return {
    vocabSize: positiveInt(t, 'vocab_size', where),
    hiddenSize,
    intermediateSize: positiveInt(t, 'intermediate_size', where),
    intermediateSizeMlp: positiveInt(t, 'intermediate_size_mlp', where, 16384),
    numLayers,
    numHeads,
    numKvHeads,
    headDim: positiveInt(t, 'head_dim', where, hiddenSize / numHeads),
    rmsNormEps: num(t, 'rms_norm_eps', where, 1e-5),
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    numExperts: positiveInt(t, 'num_local_experts', where, 16),
    topK: positiveInt(t, 'num_experts_per_tok', where, 1),
    isMoe,
    usesRope,
    attentionChunkSize: positiveInt(t, 'attention_chunk_size', where, 8192),
    useQkNorm: Boolean(t.use_qk_norm ?? true),
    attnTemperatureTuning: Boolean(t.attn_temperature_tuning ?? true), // hub json has `4`: truthy
    floorScale: num(t, 'floor_scale', where, 8192),
    attnScale: num(t, 'attn_scale', where, 0.1),
    maxPositionEmbeddings: positiveInt(t, 'max_position_embeddings', where, 131072),
    bosTokenId: num(t, 'bos_token_id', where, 200000),
    eosTokenIds,
    padTokenId: typeof t.pad_token_id === 'number' ? t.pad_token_id : null,
    tieWordEmbeddings: Boolean(t.tie_word_embeddings ?? false),
  };
}

function parseVisionConfig(v: Json): VisionConfig {
  const w = 'vision_config.';
  const rope = (v.rope_parameters as Json | undefined) ?? v;
  return {
    hiddenSize: positiveInt(v, 'hidden_size', w),
    numLayers: positiveInt(v, 'num_hidden_layers', w),
    numHeads: positiveInt(v, 'num_attention_heads', w),
    intermediateSize: positiveInt(v, 'intermediate_size', w),
    imageSize: positiveInt(v, 'image_size', w),
    patchSize: positiveInt(v, 'patch_size', w),
    pixelShuffleRatio: num(v, 'pixel_shuffle_ratio', w, 0.5),
    projectorInputDim: positiveInt(v, 'projector_input_dim', w),
    projectorOutputDim: positiveInt(v, 'projector_output_dim', w),
    visionOutputDim: positiveInt(v, 'vision_output_dim', w),
    ropeTheta: num(rope, 'rope_theta', w, 10000),
  };
}

export function parseConfig(json: unknown): ModelConfig {
  if (!json || typeof json !== 'object') throw bad('config.json is not a JSON object');
  const c = json as Json;
  const archs = (c.architectures as string[] | undefined) ?? [];
  const modelType = c.model_type;
  if (modelType === 'llama4') {
    if (archs.length && !archs.includes('Llama4ForConditionalGeneration')) {
      throw bad(`config.json: architectures is ${JSON.stringify(archs)}; expected "Llama4ForConditionalGeneration" for model_type "llama4"`);
    }
    if (!c.text_config || typeof c.text_config !== 'object') throw bad('config.json: text_config is missing');
    const text = parseTextConfig(c.text_config as Json, 'text_config.');
    return {
      architecture: 'Llama4ForConditionalGeneration',
      text,
      vision: c.vision_config ? parseVisionConfig(c.vision_config as Json) : null,
      imageTokenIndex: typeof c.image_token_index === 'number' ? c.image_token_index : null,
      textPrefix: 'language_model.',
    };
  }
  if (modelType === 'llama4_text') {
    if (archs.length && !archs.includes('Llama4ForCausalLM')) {
      throw bad(`config.json: architectures is ${JSON.stringify(archs)}; expected "Llama4ForCausalLM" for model_type "llama4_text"`);
    }
    return { architecture: 'Llama4ForCausalLM', text: parseTextConfig(c), vision: null, imageTokenIndex: null, textPrefix: '' };
  }
  throw bad(`config.json: model_type is ${JSON.stringify(modelType)}; TabScout runs Llama 4 ("llama4" or "llama4_text")`);
}
