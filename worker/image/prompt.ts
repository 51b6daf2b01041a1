// Prompt layout of Llama 4 images (spec §3.5, HF processing_llama4.py `_prompt_split_image`): the chat template emits
// one `<|image|>` placeholder per image; each is replaced, in order, by the image's token layout. Works on the
// template's text output; tokenisation happens afterwards (the special tokens are single tokens).

export const IMAGE_PLACEHOLDER = '<|image|>';
export const IMAGE_START = '<|image_start|>';
export const IMAGE_END = '<|image_end|>';
export const PATCH = '<|patch|>';
export const TILE_X_SEPARATOR = '<|tile_x_separator|>';
export const TILE_Y_SEPARATOR = '<|tile_y_separator|>';

export interface ImageGrid {
  rows: number;
  cols: number;
}

/**
 * The tokens that stand for one image of rows × cols tiles, each tile `tokensPerTile` `<|patch|>` tokens:
 * one tile: `<|image_start|><|image|>` + patches + `<|image_end|>`;
 * several: `<|image_start|>`, per row the tiles' patches separated by `<|tile_x_separator|>` and followed by
 * `<|tile_y_separator|>`, then `<|image|>` + the global tile's patches + `<|image_end|>`.
 */
export function imageTokenText(grid: ImageGrid, tokensPerTile: number): string {
  const { rows, cols } = grid;
  if (!(Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0)) throw new RangeError(`bad tile grid ${rows}×${cols}`);
  if (!(Number.isInteger(tokensPerTile) && tokensPerTile > 0)) throw new RangeError(`bad tokens per tile ${tokensPerTile}`);
  const tile = PATCH.repeat(tokensPerTile);
  let s = IMAGE_START;
  if (rows * cols > 1) {
    const row = Array.from({ length: cols }, () => tile).join(TILE_X_SEPARATOR) + TILE_Y_SEPARATOR;
    s += row.repeat(rows);
  }
  return s + IMAGE_PLACEHOLDER + tile + IMAGE_END;
}

/** Number of tokens imageTokenText makes: 3 + N·(tiles incl. global) + rows·cols when rows·cols > 1, else N + 3. */
export function imageTokenCount(grid: ImageGrid, tokensPerTile: number): number {
  const n = grid.rows * grid.cols;
  return n > 1 ? 3 + tokensPerTile * (n + 1) + n : 3 + tokensPerTile;
}

/** Number of `<|image|>` placeholders in a prompt. */
export function countImagePlaceholders(prompt: string): number {
  return prompt.split(IMAGE_PLACEHOLDER).length - 1;
}

/**
 * Replaces each `<|image|>` of the prompt, in order, with the layout of the corresponding image. Throws when the
 * number of placeholders differs from the number of images.
 */
export function expandImagePlaceholders(prompt: string, images: readonly ImageGrid[], tokensPerTile: number): string {
  const parts = prompt.split(IMAGE_PLACEHOLDER);
  const placeholders = parts.length - 1;
  if (placeholders !== images.length) {
    throw new Error(`the prompt has ${placeholders} image placeholder${placeholders === 1 ? '' : 's'} (${IMAGE_PLACEHOLDER}) but ${images.length} image${images.length === 1 ? ' was' : 's were'} given`);
  }
  let out = parts[0];
  for (let i = 0; i < images.length; i++) out += imageTokenText(images[i], tokensPerTile) + parts[i + 1];
  return out;
}

/**
 * HF's Llama4Processor tokenises the template output with add_special_tokens=True, so its input_ids for image
 * prompts start with BOS twice (the template's and the tokenizer post-processor's); the fixtures' image cases have
 * it. Apply this to the ids of an expanded prompt to get exactly HF's processor ids.
 */
export function withProcessorBos(ids: readonly number[], bosTokenId: number): number[] {
  return [bosTokenId, ...ids];
}

/** A prompt's token ids with its images laid out, and where each image's tiles are. */
export interface ImagePromptLayout {
  ids: number[];
  /** per image, per tile (raster tiles, then the global tile): the row of the tile's first `<|patch|>` token;
   * a tile's tokensPerTile patches are consecutive */
  tileRows: number[][];
}

/** Offsets of each tile's first patch inside imageTokenText(grid, N). */
export function tilePatchOffsets(grid: ImageGrid, tokensPerTile: number): number[] {
  const { rows, cols } = grid;
  const N = tokensPerTile;
  if (rows * cols === 1) return [2]; // <|image_start|><|image|>
  const offsets: number[] = [];
  const rowLength = cols * N + (cols - 1) + 1; // patches, x separators, the y separator
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) offsets.push(1 + r * rowLength + c * (N + 1));
  offsets.push(1 + rows * rowLength + 1); // after <|image|>: the global tile
  return offsets;
}

/**
 * Tokenizes a templated prompt with one `<|image|>` placeholder per image: the text between placeholders is
 * encoded piece by piece (special tokens split the text before BPE, so this equals encoding the expanded text in
 * one go) and each image's layout is put in its place, so the tile positions are known by construction. With
 * `bosTokenId`, the ids start with it (HF's processor adds a second BOS: see withProcessorBos).
 */
export function layoutImagePrompt(prompt: string, images: readonly ImageGrid[], tokensPerTile: number, encode: (text: string) => number[], bosTokenId?: number): ImagePromptLayout {
  const parts = prompt.split(IMAGE_PLACEHOLDER);
  if (parts.length - 1 !== images.length) expandImagePlaceholders(prompt, images, tokensPerTile); // throws the count message
  const ids: number[] = bosTokenId === undefined ? [] : [bosTokenId];
  const tileRows: number[][] = [];
  parts.forEach((part, i) => {
    ids.push(...encode(part));
    if (i === images.length) return;
    const layout = encode(imageTokenText(images[i], tokensPerTile));
    if (layout.length !== imageTokenCount(images[i], tokensPerTile)) {
      throw new Error(`the image layout tokenizes to ${layout.length} tokens, expected ${imageTokenCount(images[i], tokensPerTile)}: the tokenizer lacks the Llama 4 image tokens`);
    }
    tileRows.push(tilePatchOffsets(images[i], tokensPerTile).map((o) => ids.length + o));
    ids.push(...layout);
  });
  return { ids, tileRows };
}
