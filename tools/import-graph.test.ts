// The layers stay acyclic and each folder imports only what docs/ARCHITECTURE.md allows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { findCycles, importGraph } from './import-graph.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const graph = importGraph(root);

test('findCycles finds a cycle and only cycles', () => {
  const g = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts', 'd.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', []],
    ['e.ts', ['e.ts']],
  ]);
  assert.deepEqual(findCycles(g).sort(), [['a.ts', 'b.ts', 'c.ts', 'a.ts'], ['e.ts', 'e.ts']]);
  assert.deepEqual(findCycles(new Map([['a.ts', ['b.ts']], ['b.ts', []]])), []);
});

test('the import graph was read', () => {
  assert.ok(graph.size > 100, `only ${graph.size} files`);
  assert.ok(graph.get('worker/engine.ts')?.includes('protocol/api.ts'), 'worker/engine.ts → protocol/api.ts not seen');
});

test('no import cycles', () => {
  const cycles = findCycles(graph);
  assert.deepEqual(cycles.map((c) => c.join(' → ')), []);
});

/** Tests are Node code that lives next to what it tests (the root tsconfig project); they may import anything. */
const isTest = (file: string) => /\.test\.tsx?$/.test(file);

/** What the code that runs in the browser may import, by folder (first matching prefix wins). The tsconfig project
 * references say the same per folder; this table also pins protocol/ to the one kernels file it needs. */
const allowed: [folder: string, imports: string[]][] = [
  // the UI talks to the engine only through the contract (and the library's chat completions over it)
  ['app/', ['app/', 'lib/', 'protocol/']],
  // the ES-module library for other pages: over the same contract
  ['lib/', ['lib/', 'protocol/']],
  // the contract: types, the error type and its Comlink bridge; the weight format is the kernels' one
  ['protocol/', ['protocol/', 'kernels/linear/weight-format.ts']],
  ['worker/', ['worker/', 'protocol/', 'kernels/']],
  ['kernels/', ['kernels/']],
  // pages that e2e journeys and benches bundle for Chromium
  ['testing/browser/', ['testing/browser/', 'worker/', 'protocol/', 'kernels/']],
];

test('each folder imports only what it may', () => {
  const violations: string[] = [];
  for (const [file, targets] of graph) {
    if (isTest(file)) continue;
    const rule = allowed.find(([folder]) => file.startsWith(folder));
    if (!rule) continue;
    for (const target of targets) {
      if (!rule[1].some((prefix) => target.startsWith(prefix))) violations.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});
