// The Llama 4 tile grid (spec §3.1 steps 1–3, HF image_processing_llama4.py): candidate canvases, the best-fit
// canvas for an image, and the aspect-preserving size the image is resized to before padding to the canvas.
// All sizes are (height, width), like HF.

export interface Size {
  height: number;
  width: number;
}

export interface TilePlan {
  /** the padded canvas: rows·tile × cols·tile */
  canvas: Size;
  /** the size the image is resized to (aspect preserved), placed at the canvas's top left */
  resized: Size;
  rows: number;
  cols: number;
  /** tiles fed to the vision tower: rows·cols, plus the global tile when rows·cols > 1 */
  tiles: number;
}

export interface TilingOptions {
  tileSize: number;
  maxTiles: number;
  resizeToMaxCanvas?: boolean;
}

/**
 * Every canvas of at most `maxTiles` tiles, in HF's order: for n = maxTiles down to 1, the factorisations n = h·w
 * (h ascending) are grouped by aspect ratio h/w in first-seen order, then the groups are concatenated.
 */
export function candidateCanvases(maxTiles: number, tileSize: number): Size[] {
  const groups = new Map<number, [number, number][]>();
  for (let n = maxTiles; n >= 1; n--) {
    for (let h = 1; h <= n; h++) {
      if (n % h !== 0) continue;
      const w = n / h;
      const ratio = h / w;
      let group = groups.get(ratio);
      if (!group) groups.set(ratio, (group = []));
      group.push([h, w]);
    }
  }
  const out: Size[] = [];
  for (const group of groups.values()) for (const [h, w] of group) out.push({ height: h * tileSize, width: w * tileSize });
  return out;
}

/**
 * HF get_best_fit: per canvas, scale = min(canvasH/H, canvasW/W) (float32, as torch computes it). If any scale is
 * ≥ 1, take the smallest of those (the largest with resizeToMaxCanvas); otherwise the largest scale. Among the
 * canvases with exactly that scale, the smallest area wins, the first in list order on ties.
 */
export function getBestFit(imageHeight: number, imageWidth: number, canvases: readonly Size[], resizeToMaxCanvas = false): Size {
  if (canvases.length === 0) throw new Error('getBestFit: no candidate canvases');
  const scales = canvases.map((c) => Math.min(Math.fround(c.height / imageHeight), Math.fround(c.width / imageWidth)));
  const up = scales.filter((s) => s >= 1);
  const selected = up.length > 0 ? (resizeToMaxCanvas ? Math.max(...up) : Math.min(...up)) : Math.max(...scales);
  let best = -1;
  for (let i = 0; i < canvases.length; i++) {
    if (scales[i] !== selected) continue;
    if (best < 0 || area(canvases[i]) < area(canvases[best])) best = i;
  }
  return canvases[best];
}

/**
 * The size the image is resized to (spec §3.1 step 3): without resizeToMaxCanvas, upscaling stops at the tile size
 * (target = min(max(side, tile), canvas side)); then the largest aspect-preserving size inside the target, computed
 * in double precision like HF's get_max_res_without_distortion; each side at least 1.
 */
export function resizeTarget(imageHeight: number, imageWidth: number, canvas: Size, tileSize: number, resizeToMaxCanvas = false): Size {
  const targetH = resizeToMaxCanvas ? canvas.height : Math.min(Math.max(imageHeight, tileSize), canvas.height);
  const targetW = resizeToMaxCanvas ? canvas.width : Math.min(Math.max(imageWidth, tileSize), canvas.width);
  const scaleW = targetW / imageWidth;
  const scaleH = targetH / imageHeight;
  let height: number;
  let width: number;
  if (scaleW < scaleH) {
    width = targetW;
    height = Math.min(Math.floor(imageHeight * scaleW), targetH);
  } else {
    height = targetH;
    width = Math.min(Math.floor(imageWidth * scaleH), targetW);
  }
  return { height: Math.max(height, 1), width: Math.max(width, 1) };
}

const canvasCache = new Map<string, Size[]>();

/** The whole plan for an image of imageHeight × imageWidth pixels. */
export function planTiles(imageHeight: number, imageWidth: number, opts: TilingOptions): TilePlan {
  const { tileSize, maxTiles } = opts;
  const resizeToMaxCanvas = opts.resizeToMaxCanvas ?? false;
  if (!(Number.isInteger(imageHeight) && Number.isInteger(imageWidth) && imageHeight > 0 && imageWidth > 0)) {
    throw new RangeError(`planTiles: the image size must be positive integers (got ${imageWidth}×${imageHeight})`);
  }
  const key = `${maxTiles}/${tileSize}`;
  let canvases = canvasCache.get(key);
  if (!canvases) canvasCache.set(key, (canvases = candidateCanvases(maxTiles, tileSize)));
  const canvas = getBestFit(imageHeight, imageWidth, canvases, resizeToMaxCanvas);
  const resized = resizeTarget(imageHeight, imageWidth, canvas, tileSize, resizeToMaxCanvas);
  const rows = canvas.height / tileSize;
  const cols = canvas.width / tileSize;
  return { canvas: { ...canvas }, resized, rows, cols, tiles: rows * cols > 1 ? rows * cols + 1 : 1 };
}

function area(s: Size): number {
  return s.height * s.width;
}
