// The first-run note's Scout figures are the memory plan's (the import's fit check uses the same plan), and its
// figures for the built-in model are those of the folder in public/ (a retrained model of another size must update them).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILT_IN_MODEL_PATH } from '../lib/default-model.ts';
import { parseConfig } from '../worker/model/config.ts';
import { memoryPlan } from '../worker/model/memory-plan.ts';
import { storeBytesNeeded } from '../worker/store/store.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import { BUILTIN_MODEL, SCOUT_NEEDS } from './builtin-model.ts';
import { formatBytes } from './ModelStatus.tsx';

test("the first-run note's Scout figures match the memory plan of Scout's config", () => {
  const config = parseConfig(JSON.parse(readFileSync(join(fixturesDir(), 'configs', 'Llama-4-Scout-17B-16E-Instruct.config.json'), 'utf8')));
  const plan = memoryPlan(config, 'q4');
  const gb = (bytes: number) => Math.round(bytes / 1e8) / 10;
  assert.equal(SCOUT_NEEDS.storageGB, gb(storeBytesNeeded(config, 'q4', true)));
  assert.equal(SCOUT_NEEDS.residentGpuGB, gb(plan.nonExpertText.bytes + plan.vision.bytes + plan.projector.bytes));
  assert.equal(SCOUT_NEEDS.expertMiB, plan.oneExpert.bytes / 2 ** 20);
  assert.equal(SCOUT_NEEDS.moeLayers, config.text.isMoe.filter(Boolean).length);
  assert.equal(SCOUT_NEEDS.expertsPerLayer, config.text.numExperts);
  assert.equal(SCOUT_NEEDS.minExpertGpuGB, gb(SCOUT_NEEDS.moeLayers * plan.oneExpert.bytes));
  assert.equal(SCOUT_NEEDS.allExpertsGpuGB, gb(plan.routedExperts.bytes));
});

test("the built-in model's description matches its folder in public/", () => {
  const folder = join(import.meta.dirname, '..', 'public', BUILT_IN_MODEL_PATH);
  const files = readdirSync(folder);
  const bytes = files.reduce((sum, name) => sum + statSync(join(folder, name)).size, 0);
  assert.equal(BUILTIN_MODEL.download, formatBytes(bytes), `${files.length} files, ${bytes} bytes`);
  // parameters: the element counts of the safetensors header
  const file = readFileSync(join(folder, 'model.safetensors'));
  const header = JSON.parse(file.subarray(8, 8 + Number(file.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape?: number[] }>;
  const parameters = Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .reduce((sum, [, t]) => sum + (t.shape ?? []).reduce((n, d) => n * d, 1), 0);
  assert.equal(BUILTIN_MODEL.parametersMillions, Math.round(parameters / 1e5) / 10, `${parameters} parameters`);
  const config = parseConfig(JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')));
  assert.equal(BUILTIN_MODEL.contextTokens, config.text.maxPositionEmbeddings);
  assert.equal(BUILTIN_MODEL.name, 'tabscout-tiny');
  for (const text of [BUILTIN_MODEL.description, BUILTIN_MODEL.cannot]) assert.doesNotMatch(text, /random weights|gibberish/);
  assert.match(BUILTIN_MODEL.can, /read out the text of a short screenshot/);
  assert.match(BUILTIN_MODEL.cannot, /cannot read long screenshots reliably/);
});
