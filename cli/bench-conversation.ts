// npm run bench -- conversation [--quick] [--json] [--weights f32|q4]
// Time to first token of a conversation's second turn, which keeps the KV cache of the first (worker/session.ts),
// against the first turn and against the same second turn prefilled from scratch, on the tiny-scout fixture with an
// image in turn 1. Each figure is also given per prefilled token: with the cache kept, turn 2 should cost about what
// its new tokens cost, not what the whole conversation costs. Medians of several conversations (one with --quick).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { createNodeGpu } from './node-gpu.ts';
import { FsModelFiles } from './fs-model-files.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import { ModelSession, type PromptMessage } from '../worker/session.ts';
import { imageKey } from '../worker/chat-input.ts';
import { decodePng } from '../worker/image/png.ts';
import type { GenerationStats } from '../protocol/api.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const JSON_OUT = args.includes('--json');
const weightsIdx = args.indexOf('--weights');
const WEIGHTS = weightsIdx >= 0 ? args[weightsIdx + 1] : 'f32';
if (WEIGHTS !== 'f32' && WEIGHTS !== 'q4') throw new Error(`--weights must be f32 or q4, got ${WEIGHTS}`);
const log = (s: string) => (JSON_OUT ? console.error(s) : console.log(s));

const LINES = 9; // of ~35 tokens each: turn 1 and 2 stay within the fixture's 512 positions
const REPEATS = QUICK ? 1 : 3;
const REPLY = 8;
const sampling = { maxNewTokens: REPLY, temperature: 0, topK: 0, topP: 1, seed: 0, ignoreEos: true };

const { ctx, adapterName } = await createNodeGpu();
const dir = join(fixturesDir(), 'tiny-scout');
const session = await ModelSession.load(ctx, new FsModelFiles(join(dir, 'model')), { weights: WEIGHTS, contextLength: 512 });
const png = await readFile(join(dir, 'reference', 'images', 'wide.png'));
const key = await imageKey(png);
const longText = Array.from({ length: LINES }, (_, i) => `Paragraph ${i + 1}: the screenshot shows tiles, patches and a caption.`).join('\n');

interface Run {
  turn1: GenerationStats;
  turn2: GenerationStats;
  scratch: GenerationStats;
}

const runs: Run[] = [];
for (let r = 0; r <= REPEATS; r++) {
  // a new conversation each time: the first one warms up pipelines and is not counted
  session.forget();
  const image = await session.image(key, async () => decodePng(png, inflateSync));
  const turn1: PromptMessage[] = [
    { role: 'system', content: 'You describe screenshots.' },
    { role: 'user', content: longText, images: [image] },
  ];
  const first = await session.generate(session.prompt(turn1), sampling, () => {});
  const turn2 = session.prompt([...turn1, { role: 'assistant', content: first.text }, { role: 'user', content: 'What colour is the caption?' }]);
  const second = await session.generate(turn2, sampling, () => {});
  const scratch = await session.generate(turn2, sampling, () => {}, undefined, { reuse: false });
  if (r > 0) runs.push({ turn1: first.stats, turn2: second.stats, scratch: scratch.stats });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const figure = (pick: (r: Run) => GenerationStats) => {
  const s = pick(runs[0]);
  const ttft = median(runs.map((r) => pick(r).timeToFirstTokenMs));
  const prefilled = s.promptTokens - s.cachedPromptTokens;
  return { promptTokens: s.promptTokens, cachedPromptTokens: s.cachedPromptTokens, prefilledTokens: prefilled, ttftMs: ttft, msPerPrefilledToken: ttft / prefilled };
};
const turn1 = figure((r) => r.turn1);
const turn2 = figure((r) => r.turn2);
const scratch = figure((r) => r.scratch);
const result = {
  adapter: adapterName,
  weights: WEIGHTS,
  quick: QUICK,
  conversations: runs.length,
  turn1,
  turn2,
  turn2FromScratch: scratch,
  /** time to first token of turn 2 over turn 1, and the same ratio of tokens prefilled */
  ttftRatio: turn2.ttftMs / turn1.ttftMs,
  prefilledRatio: turn2.prefilledTokens / turn1.prefilledTokens,
  speedupOverScratch: scratch.ttftMs / turn2.ttftMs,
};
const row = (name: string, f: typeof turn1) =>
  `${name.padEnd(22)} ${String(f.promptTokens).padStart(6)} ${String(f.cachedPromptTokens).padStart(6)} ${String(f.prefilledTokens).padStart(9)} ${f.ttftMs.toFixed(1).padStart(9)} ${f.msPerPrefilledToken.toFixed(3).padStart(11)}`;
log(`${adapterName}; tiny-scout ${WEIGHTS}, an image (4 tiles + global) and ${LINES} lines in turn 1, ${REPLY}-token replies; median of ${runs.length} conversation(s)`);
log(`${'turn'.padEnd(22)} ${'prompt'.padStart(6)} ${'kept'.padStart(6)} ${'prefilled'.padStart(9)} ${'TTFT ms'.padStart(9)} ${'ms/prefill'.padStart(11)}`);
log(row('turn 1', turn1));
log(row('turn 2 (cache kept)', turn2));
log(row('turn 2 (from scratch)', scratch));
log(`turn 2 / turn 1: TTFT ${result.ttftRatio.toFixed(3)}, tokens prefilled ${result.prefilledRatio.toFixed(3)}; keeping the cache is ${result.speedupOverScratch.toFixed(1)}× faster to the first token than prefilling turn 2 from scratch`);
if (JSON_OUT) console.log(JSON.stringify(result));
session.destroy();
