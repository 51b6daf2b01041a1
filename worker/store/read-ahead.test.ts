import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordEntry } from './format.ts';
import { readAhead } from './read-ahead.ts';

const entry = (key: string, bytes: number) => ({ key, bytes }) as RecordEntry;

/** A reader whose reads finish when the test says; logs the order they start in. */
function controlledReader() {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const read = (e: RecordEntry) => {
    started.push(e.key);
    return new Promise<Uint8Array>((resolve) => finish.set(e.key, () => resolve(new Uint8Array([e.key.charCodeAt(0)]))));
  };
  return { started, finish, read };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

test('readAhead: starts records in order, at most `concurrency` at once and within the byte window, each read once', async () => {
  const order = [entry('a', 10), entry('b', 10), entry('c', 10), entry('d', 10), entry('e', 10)];
  const r = controlledReader();
  const ahead = readAhead(order, r.read, 30, 2);
  ahead.start();
  assert.deepEqual(r.started, ['a', 'b']); // concurrency 2
  r.finish.get('a')!();
  await tick();
  assert.deepEqual(r.started, ['a', 'b', 'c']); // a done: c starts; a+b+c = 30 bytes fill the window
  r.finish.get('b')!();
  await tick();
  assert.deepEqual(r.started, ['a', 'b', 'c'], 'd waits: 30 bytes are read or being read and not taken');
  assert.deepEqual(await ahead.read(order[0]), new Uint8Array([97]));
  assert.deepEqual(r.started, ['a', 'b', 'c', 'd']); // a taken: room for d
  for (const k of ['c', 'd', 'e']) r.finish.get(k)?.();
  const rest = Promise.all(order.slice(1).map((e) => ahead.read(e)));
  await tick();
  r.finish.get('e')?.();
  assert.deepEqual((await rest).map((b) => String.fromCharCode(b[0])), ['b', 'c', 'd', 'e']);
  assert.deepEqual(r.started, ['a', 'b', 'c', 'd', 'e'], 'every record read exactly once');
});

test('readAhead: a record asked for again, or not in the order, is read directly; a failed read ahead is not unhandled', async () => {
  const order = [entry('a', 10), entry('b', 10)];
  const fails = (e: RecordEntry) => (e.key === 'b' ? Promise.reject(new Error('b is bad')) : Promise.resolve(new Uint8Array([1])));
  let unhandled = 0;
  const onUnhandled = () => unhandled++;
  process.on('unhandledRejection', onUnhandled);
  try {
    const ahead = readAhead(order, fails, 100, 4);
    ahead.start(); // b fails in the background, never taken
    assert.deepEqual(await ahead.read(order[0]), new Uint8Array([1]));
    assert.deepEqual(await ahead.read(order[0]), new Uint8Array([1])); // again: read directly
    assert.deepEqual(await ahead.read(entry('x', 1)), new Uint8Array([1]));
    await tick();
    await tick();
    assert.equal(unhandled, 0);
    await assert.rejects(ahead.read(order[1]), /b is bad/); // taken: the caller sees the error
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('readAhead: a record larger than the window starts only when nothing else is ahead', async () => {
  const order = [entry('a', 10), entry('big', 100), entry('c', 10)];
  const r = controlledReader();
  const ahead = readAhead(order, r.read, 50, 4);
  ahead.start();
  assert.deepEqual(r.started, ['a']);
  const a = ahead.read(order[0]);
  assert.deepEqual(r.started, ['a', 'big']);
  r.finish.get('a')!();
  await a;
  assert.deepEqual(r.started, ['a', 'big'], 'c waits behind the big record');
});
