// What a reply shows while the engine reads images, before its first token. The engine reports reading only for
// the tiles it encodes: (0, n) before the first of n tiles, then after each. A turn whose images are already in the
// conversation's KV cache, or that has none, gets no report, so nothing says "Reading image" then.
import type { GenerateProgress } from '../protocol/api.ts';

/** The text for an engine report before the first token; null for one that is not about reading an image. */
export function imageReadingText(progress: GenerateProgress): string | null {
  if (progress.phase !== 'image') return null;
  return progress.tile === 0 ? 'Reading image…' : `Reading image: tile ${progress.tile} of ${progress.tiles}`;
}
