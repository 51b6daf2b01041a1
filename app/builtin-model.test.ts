// The first-run note's Scout figures are the memory plan's (the import's fit check uses the same plan).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../worker/model/config.ts';
import { memoryPlan } from '../worker/model/memory-plan.ts';
import { storeBytesNeeded } from '../worker/store/store.ts';
import { fixturesDir } from '../testing/fixtures.ts';
import { SCOUT_NEEDS } from './builtin-model.ts';

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
