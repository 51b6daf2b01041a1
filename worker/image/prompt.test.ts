// Image token layout (spec §3.5): one tile, several tiles, several images, placeholder count mismatches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countImagePlaceholders, expandImagePlaceholders, imageTokenCount, imageTokenText, layoutImagePrompt, withProcessorBos } from './prompt.ts';

const P = '<|patch|>';

test('one tile: <|image_start|><|image|> + N patches + <|image_end|>', () => {
  assert.equal(imageTokenText({ rows: 1, cols: 1 }, 3), `<|image_start|><|image|>${P}${P}${P}<|image_end|>`);
  assert.equal(imageTokenCount({ rows: 1, cols: 1 }, 144), 147);
});

test('rows × cols tiles: x separators between columns, a y separator after every row, then the global tile', () => {
  const two = P + P;
  assert.equal(
    imageTokenText({ rows: 2, cols: 3 }, 2),
    '<|image_start|>' +
      `${two}<|tile_x_separator|>${two}<|tile_x_separator|>${two}<|tile_y_separator|>` +
      `${two}<|tile_x_separator|>${two}<|tile_x_separator|>${two}<|tile_y_separator|>` +
      `<|image|>${two}<|image_end|>`,
  );
  assert.equal(imageTokenText({ rows: 3, cols: 1 }, 1), `<|image_start|>${P}<|tile_y_separator|>${P}<|tile_y_separator|>${P}<|tile_y_separator|><|image|>${P}<|image_end|>`);
  // spec: length = 3 + N·(rows·cols + 1) + rows·cols
  for (const [rows, cols, n] of [[1, 3, 16], [2, 2, 144], [4, 4, 144], [1, 6, 7]]) {
    const text = imageTokenText({ rows, cols }, n);
    const tokens = text.match(/<\|[a-z_]+\|>/g)!.length;
    assert.equal(tokens, 3 + n * (rows * cols + 1) + rows * cols);
    assert.equal(imageTokenCount({ rows, cols }, n), tokens);
  }
});

test('placeholders are replaced in order, text between them kept', () => {
  const prompt = 'A<|image|>B<|image|>C';
  assert.equal(countImagePlaceholders(prompt), 2);
  const out = expandImagePlaceholders(prompt, [{ rows: 1, cols: 1 }, { rows: 1, cols: 2 }], 1);
  assert.equal(
    out,
    `A<|image_start|><|image|>${P}<|image_end|>B<|image_start|>${P}<|tile_x_separator|>${P}<|tile_y_separator|><|image|>${P}<|image_end|>C`,
  );
  assert.equal(expandImagePlaceholders('no images', [], 16), 'no images');
});

test('placeholder count must equal the image count', () => {
  assert.throws(() => expandImagePlaceholders('<|image|><|image|>', [{ rows: 1, cols: 1 }], 16), /2 image placeholders .* but 1 image was given/);
  assert.throws(() => expandImagePlaceholders('text', [{ rows: 1, cols: 1 }], 16), /0 image placeholders .* but 1 image was given/);
  assert.throws(() => expandImagePlaceholders('<|image|>', [], 16), /1 image placeholder .* but 0 images were given/);
  assert.throws(() => imageTokenText({ rows: 0, cols: 1 }, 16), RangeError);
  assert.throws(() => imageTokenText({ rows: 1, cols: 1 }, 0), RangeError);
});

test('withProcessorBos prepends BOS', () => {
  assert.deepEqual(withProcessorBos([1, 2], 9), [9, 1, 2]);
});

test('layoutImagePrompt: the ids of the expanded prompt, and each tile starts at its N consecutive patches', () => {
  // a toy tokenizer: every special token one id, every other character its code point
  const specials = ['<|patch|>', '<|image|>', '<|image_start|>', '<|image_end|>', '<|tile_x_separator|>', '<|tile_y_separator|>'];
  const encode = (text: string) => text.split(/(<\|[a-z_]+\|>)/).flatMap((s) => (specials.includes(s) ? [1000 + specials.indexOf(s)] : [...s].map((ch) => ch.codePointAt(0)!)));
  const grids = [{ rows: 2, cols: 3 }, { rows: 1, cols: 1 }, { rows: 3, cols: 1 }];
  const N = 4;
  const prompt = 'Look<|image|> and<|image|>then<|image|>?';
  const layout = layoutImagePrompt(prompt, grids, N, encode, 7);
  assert.deepEqual(layout.ids, [7, ...encode(expandImagePlaceholders(prompt, grids, N))]);
  assert.deepEqual(layout.tileRows.map((t) => t.length), [7, 1, 4]);
  const patchRows = layout.ids.flatMap((id, i) => (id === 1000 ? [i] : []));
  assert.deepEqual(layout.tileRows.flat().flatMap((row) => Array.from({ length: N }, (_, k) => row + k)), patchRows, 'the tiles cover exactly the patch tokens, in order');
  assert.throws(() => layoutImagePrompt('<|image|>', [], N, encode), /1 image placeholder .* but 0 images were given/);
});
