import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageReadingText } from './image-reading.ts';
import type { GenerateProgress } from '../protocol/api.ts';

test('the start of reading, then each tile read', () => {
  assert.equal(imageReadingText({ phase: 'image', tile: 0, tiles: 4 }), 'Reading image…');
  assert.equal(imageReadingText({ phase: 'image', tile: 2, tiles: 4 }), 'Reading image: tile 2 of 4');
});

test('a report that is not about an image says nothing', () => {
  assert.equal(imageReadingText({ phase: 'other', tile: 0, tiles: 0 } as unknown as GenerateProgress), null);
});
