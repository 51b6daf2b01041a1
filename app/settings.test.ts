// The page's URL overrides that reach the engine's load options (resolveSettings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, pinnedTierBytes, resolveSettings } from './settings.ts';

const at = (search: string) => resolveSettings(DEFAULT_SETTINGS, { href: `https://example.test/${search}`, search });

test('?kvCache=f16 asks for the KV cache in f16; anything else keeps f32', () => {
  assert.equal(at('?kvCache=f16').kvCache, 'f16');
  assert.equal(at('').kvCache, 'f32');
  assert.equal(at('?kvCache=f8').kvCache, 'f32');
});

test('?pinnedTierMiB= turns the pinned tier on in bytes; 0, negative or not a number leaves it off', () => {
  assert.equal(pinnedTierBytes(at('?pinnedTierMiB=2')), 2 * 2 ** 20);
  for (const q of ['', '?pinnedTierMiB=0', '?pinnedTierMiB=-3', '?pinnedTierMiB=lots']) assert.equal(pinnedTierBytes(at(q)), undefined, q);
});
