// How an imported model is named: from where it came from, and from its config when files come without a folder name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultModelId, modelName, UNNAMED_FOLDER } from './sources.ts';
import type { ModelSource } from '../../protocol/api.ts';

const config = (fields: object) => JSON.stringify({ model_type: 'llama4', ...fields });
const source = (kind: ModelSource['kind'], location: string): ModelSource => ({ kind, location, revision: null });

test('a model is named from its repo id, URL or folder name', () => {
  assert.equal(modelName(source('hub', 'meta-llama/Llama-4-Scout-17B-16E-Instruct'), config({})), 'Llama-4-Scout-17B-16E-Instruct');
  assert.equal(modelName(source('url', 'https://example.test/models/tiny-scout/'), config({})), 'tiny-scout');
  assert.equal(modelName(source('folder', 'tiny-scout'), config({ _name_or_path: 'other' })), 'tiny-scout');
});

test('files picked without their folder are named from the config, never "the picked folder"', () => {
  const picked = source('folder', UNNAMED_FOLDER);
  assert.equal(modelName(picked, config({ _name_or_path: 'meta-llama/Llama-4-Scout-17B-16E-Instruct', architectures: ['Llama4ForConditionalGeneration'] })), 'Llama-4-Scout-17B-16E-Instruct');
  assert.equal(modelName(picked, config({ architectures: ['Llama4ForConditionalGeneration'] })), 'Llama4ForConditionalGeneration');
  assert.equal(modelName(picked, config({})), 'llama4');
  assert.equal(defaultModelId({ ...picked, location: 'llama4' }, 'q4'), 'llama4-q4');
});
