// Llama 4 image-processor settings from a Hugging Face model folder: `preprocessor_config.json` (older Hub repos)
// or the `image_processor` object of `processor_config.json` (transformers 5), plus the patch size and the
// pixel-shuffle ratio that fix how many `<|patch|>` tokens a tile becomes. Nothing is assumed about the tile size
// (336 on the real checkpoints, 112 on the test fixtures): it comes from `size`, else from vision_config.image_size.
import { EngineError } from '../../protocol/errors.ts';
import type { ModelFiles } from '../model/safetensors.ts';

export interface ImageProcessorConfig {
  /** tile side in pixels (`size.height` = `size.width`) */
  tileSize: number;
  /** maximum number of tiles, not counting the global tile (`max_patches`) */
  maxTiles: number;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  rescaleFactor: number;
  doRescale: boolean;
  doNormalize: boolean;
  /** false: upscale as little as possible (and at most to one tile); true: use the largest canvas that fits */
  resizeToMaxCanvas: boolean;
  /** ViT patch size in pixels */
  patchSize: number;
  pixelShuffleRatio: number;
  /** `<|patch|>` tokens per tile: (tile/patch)² / round(1/ratio²), as HF's Llama4Processor computes it */
  tokensPerTile: number;
  /** which file the image-processor fields came from (for messages) */
  source: string;
}

/** What the model's config.json contributes (its vision_config). */
export interface VisionParams {
  patchSize: number;
  pixelShuffleRatio: number;
  /** vision_config.image_size: used when the processor config has no `size`, and checked against it */
  imageSize?: number;
}

type Json = Record<string, unknown>;

const bad = (message: string) => new EngineError('bad-model', message);

/** Reads the processor configs of a model folder; `vision` comes from the parsed config.json. */
export async function loadImageProcessorConfig(files: ModelFiles, vision: VisionParams): Promise<ImageProcessorConfig> {
  const pre = await files.maybeText('preprocessor_config.json');
  const proc = await files.maybeText('processor_config.json');
  const parse = (text: string | null, name: string): unknown => {
    if (text === null) return null;
    try {
      return JSON.parse(text);
    } catch (e) {
      throw bad(`${name} is not valid JSON (${(e as Error).message}) (${files.label})`);
    }
  };
  try {
    return parseImageProcessorConfig(parse(pre, 'preprocessor_config.json'), parse(proc, 'processor_config.json'), vision);
  } catch (e) {
    if (e instanceof EngineError) throw new EngineError(e.code, `${e.message} (${files.label})`);
    throw e;
  }
}

/**
 * Builds the settings from the parsed JSON of `preprocessor_config.json` and `processor_config.json` (either may be
 * null when the file does not exist). The image-processor fields are taken from preprocessor_config.json when it
 * exists, else from processor_config.json's `image_processor`; `patch_size` from processor_config.json, else from
 * vision_config.
 */
export function parseImageProcessorConfig(preprocessor: unknown, processor: unknown, vision: VisionParams): ImageProcessorConfig {
  if (preprocessor !== null && !isObject(preprocessor)) throw bad('preprocessor_config.json is not a JSON object');
  if (processor !== null && !isObject(processor)) throw bad('processor_config.json is not a JSON object');
  let ip: Json;
  let source: string;
  if (preprocessor) {
    ip = preprocessor;
    source = 'preprocessor_config.json';
  } else if (processor && processor.image_processor !== undefined) {
    if (!isObject(processor.image_processor)) throw bad('processor_config.json: image_processor is not an object');
    ip = processor.image_processor;
    source = 'processor_config.json (image_processor)';
  } else if (processor) {
    throw bad('no image processor settings: preprocessor_config.json is missing and processor_config.json has no "image_processor" object');
  } else {
    throw bad('no image processor settings: preprocessor_config.json and processor_config.json are both missing');
  }
  const where = `${source}:`;

  let tileSize: number;
  if (ip.size === undefined || ip.size === null) {
    if (!vision.imageSize) throw bad(`${where} "size" is missing and vision_config.image_size is unknown`);
    tileSize = vision.imageSize;
  } else {
    if (!isObject(ip.size)) throw bad(`${where} "size" must be an object {"height", "width"}`);
    const h = ip.size.height;
    const w = ip.size.width;
    if (!isPositiveInt(h) || !isPositiveInt(w)) throw bad(`${where} size.height and size.width must be positive integers (got ${JSON.stringify(ip.size)})`);
    if (h !== w) throw bad(`${where} the tile must be square (size is ${h}×${w})`);
    tileSize = h;
  }
  if (vision.imageSize !== undefined && vision.imageSize !== tileSize) {
    throw bad(`${where} tile size ${tileSize} differs from vision_config.image_size ${vision.imageSize}`);
  }

  const maxTiles = ip.max_patches ?? 16;
  if (!isPositiveInt(maxTiles)) throw bad(`${where} "max_patches" must be a positive integer (got ${JSON.stringify(ip.max_patches)})`);

  const resample = ip.resample ?? 2;
  if (resample !== 2 && resample !== 'bilinear') {
    throw bad(`${where} resample ${JSON.stringify(ip.resample)} is not supported (Llama 4 uses 2, bilinear)`);
  }

  const rescaleFactor = ip.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== 'number' || !(rescaleFactor > 0) || !Number.isFinite(rescaleFactor)) {
    throw bad(`${where} "rescale_factor" must be a positive number (got ${JSON.stringify(ip.rescale_factor)})`);
  }
  const imageMean = triple(ip.image_mean ?? 0.5, `${where} image_mean`);
  const imageStd = triple(ip.image_std ?? 0.5, `${where} image_std`);
  if (imageStd.some((s) => s === 0)) throw bad(`${where} image_std has a zero entry`);

  const patchSize = processor?.patch_size ?? vision.patchSize;
  if (!isPositiveInt(patchSize)) throw bad(`patch size must be a positive integer (got ${JSON.stringify(patchSize)})`);
  if (tileSize % patchSize !== 0) throw bad(`${where} tile size ${tileSize} is not a multiple of the patch size ${patchSize}`);
  const pixelShuffleRatio = vision.pixelShuffleRatio;
  if (!(pixelShuffleRatio > 0 && pixelShuffleRatio <= 1)) throw bad(`vision_config.pixel_shuffle_ratio must be in (0, 1] (got ${pixelShuffleRatio})`);

  return {
    tileSize,
    maxTiles,
    imageMean,
    imageStd,
    rescaleFactor,
    doRescale: bool(ip.do_rescale, true),
    doNormalize: bool(ip.do_normalize, true),
    resizeToMaxCanvas: bool(ip.resize_to_max_canvas, false),
    patchSize,
    pixelShuffleRatio,
    tokensPerTile: tokensPerTile(tileSize, patchSize, pixelShuffleRatio),
    source,
  };
}

/** `<|patch|>` tokens per tile, computed like HF's Llama4Processor: (tile//patch)² // round(1/ratio²). */
export function tokensPerTile(tileSize: number, patchSize: number, pixelShuffleRatio: number): number {
  const side = Math.floor(tileSize / patchSize);
  const downsample = Math.round(1 / (pixelShuffleRatio * pixelShuffleRatio));
  const n = Math.floor((side * side) / downsample);
  if (n < 1) throw bad(`a ${tileSize}px tile with ${patchSize}px patches and pixel shuffle ${pixelShuffleRatio} gives no image tokens`);
  return n;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function bool(v: unknown, fallback: boolean): boolean {
  return v === undefined || v === null ? fallback : Boolean(v);
}

function triple(v: unknown, what: string): [number, number, number] {
  if (typeof v === 'number' && Number.isFinite(v)) return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return [v[0], v[1], v[2]];
  throw bad(`${what} must be a number or a list of 3 numbers (got ${JSON.stringify(v)})`);
}
