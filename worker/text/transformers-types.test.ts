// worker/text/transformers.d.ts declares the part of @huggingface/transformers that the worker uses: the real
// package must fit it. The check is the type assertion below (npm run typecheck fails when it does not hold); the
// test makes sure the class it names is the one the package exports at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as transformers from '@huggingface/transformers';
import type { PreTrainedTokenizer as Declared } from './transformers.d.ts';

type Real = InstanceType<typeof transformers.PreTrainedTokenizer>;
type RealConstructor = typeof transformers.PreTrainedTokenizer;
type DeclaredConstructor = new (...args: ConstructorParameters<typeof Declared>) => Declared;

// compile time: an instance of the real class can be used wherever the declaration is expected, and the real
// constructor takes the declared arguments
export const fits: (real: Real) => Declared = (real) => real;
export const constructs: (real: RealConstructor) => DeclaredConstructor = (real) => real;

test('the tokenizer class the worker declares is exported by @huggingface/transformers', () => {
  assert.equal(typeof transformers.PreTrainedTokenizer, 'function');
  for (const method of ['encode', 'decode', 'apply_chat_template']) {
    assert.equal(typeof (transformers.PreTrainedTokenizer.prototype as unknown as Record<string, unknown>)[method], 'function', method);
  }
});
