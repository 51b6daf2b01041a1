// safetensors: header parsing on the fixtures (single file and sharded index), dtype decoding, and damaged files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { EngineError } from '../../protocol/errors.ts';
import { encodeSafetensors, fixturesDir, readSafetensorsFile, removeDir, tempModelCopy } from '../../testing/fixtures.ts';
import { parseHeader, readCheckpointIndex, readSafetensorsHeader, toF32 } from './safetensors.ts';
import { bf16BitsToF32 } from '../../kernels/f16.ts';

const scoutDir = join(fixturesDir(), 'tiny-scout', 'model');
const maverickDir = join(fixturesDir(), 'tiny-maverick', 'model');
const temps: string[] = [];
after(() => temps.forEach(removeDir));
const temp = (): string => {
  const d = tempModelCopy('tiny-scout');
  temps.push(d);
  return d;
};

async function assertEngineError(p: Promise<unknown>, ...patterns: RegExp[]): Promise<EngineError> {
  let caught: unknown;
  await p.then(
    () => assert.fail('expected an error'),
    (e) => (caught = e),
  );
  assert.ok(caught instanceof EngineError, `expected an EngineError, got ${String(caught)}`);
  assert.equal(caught.code, 'bad-model');
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
}

test('tiny-scout model.safetensors: every tensor with dtype, shape and absolute byte range', async () => {
  const infos = await readSafetensorsHeader(new FsModelFiles(scoutDir), 'model.safetensors');
  const raw = readSafetensorsFile(join(scoutDir, 'model.safetensors'));
  const file = readFileSync(join(scoutDir, 'model.safetensors'));
  assert.equal(infos.length, raw.length);
  const byName = new Map(infos.map((t) => [t.name, t]));
  for (const r of raw) {
    const t = byName.get(r.name)!;
    assert.ok(t, r.name);
    assert.equal(t.dtype, 'BF16');
    assert.deepEqual(t.shape, r.shape);
    assert.equal(t.file, 'model.safetensors');
    assert.deepEqual(new Uint8Array(file.subarray(t.begin, t.end)), r.data, `${r.name}: byte range`);
  }
  const q = byName.get('language_model.model.layers.0.self_attn.q_proj.weight')!;
  assert.deepEqual(q.shape, [64, 64]);
  assert.equal(q.end - q.begin, 64 * 64 * 2);
  assert.deepEqual(byName.get('language_model.model.layers.0.feed_forward.experts.gate_up_proj')!.shape, [4, 64, 128]);
  assert.ok(!byName.has('__metadata__'));
});

test('readCheckpointIndex on the sharded tiny-maverick finds every tensor of the weight_map in its shard', async () => {
  const files = new FsModelFiles(maverickDir);
  const map = await readCheckpointIndex(files);
  const weightMap = (JSON.parse(readFileSync(join(maverickDir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> }).weight_map;
  assert.equal(map.size, Object.keys(weightMap).length);
  for (const [name, shard] of Object.entries(weightMap)) {
    const t = map.get(name);
    assert.ok(t, `${name} missing`);
    assert.equal(t.file, shard, name);
    const inShard = readSafetensorsFile(join(maverickDir, shard)).find((r) => r.name === name)!;
    assert.deepEqual(t.shape, inShard.shape, name);
    assert.deepEqual(await files.range(t.file, t.begin, t.end), inShard.data, `${name}: bytes`);
  }
  assert.equal(new Set([...map.values()].map((t) => t.file)).size, 3);
  // the single-file layout: no index → model.safetensors
  const single = await readCheckpointIndex(new FsModelFiles(scoutDir));
  assert.ok([...single.values()].every((t) => t.file === 'model.safetensors'));
  assert.equal(single.size, readSafetensorsFile(join(scoutDir, 'model.safetensors')).length);
});

const u16 = (...v: number[]) => new Uint8Array(Uint16Array.from(v).buffer);

test('toF32: BF16 against known values', () => {
  const out = toF32(u16(0x3f80, 0xc000, 0x3e20, 0x4049, 0x7f80, 0xff80, 0x0001, 0x8000, 0x7f7f, 0x7fc0), 'BF16');
  assert.deepEqual([...out.slice(0, 9)], [1, -2, 0.15625, 3.140625, Infinity, -Infinity, 2 ** -133, -0, 3.3895313892515355e38]);
  assert.ok(Object.is(out[7], -0));
  assert.ok(Number.isNaN(out[9]));
});

test('toF32: F16 against known values', () => {
  const out = toF32(u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x3555, 0x7c00, 0xfc00, 0x8000, 0x7e00), 'F16');
  assert.deepEqual([...out.slice(0, 10)], [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 0.333251953125, Infinity, -Infinity, -0]);
  assert.ok(Object.is(out[9], -0));
  assert.ok(Number.isNaN(out[10]));
});

test('toF32: F32, also from an unaligned view, and a fixture tensor against an independent bf16 decode', () => {
  const values = Float32Array.of(1.5, -0.1, 3.4028234663852886e38, 1e-45, -0);
  const bytes = new Uint8Array(values.buffer);
  assert.deepEqual(toF32(bytes, 'F32'), values);
  const unaligned = new Uint8Array(bytes.byteLength + 1);
  unaligned.set(bytes, 1);
  assert.deepEqual(toF32(unaligned.subarray(1), 'F32'), values);
  const unalignedHalf = new Uint8Array(5);
  unalignedHalf.set(u16(0x3f80, 0xbf80), 1);
  assert.deepEqual([...toF32(unalignedHalf.subarray(1), 'BF16')], [1, -1]);

  const norm = readSafetensorsFile(join(scoutDir, 'model.safetensors')).find((t) => t.name === 'language_model.model.norm.weight')!;
  const view = new DataView(norm.data.buffer, norm.data.byteOffset, norm.data.byteLength);
  const expected = Float32Array.from({ length: 64 }, (_, i) => {
    const b = new DataView(new ArrayBuffer(4));
    b.setUint32(0, view.getUint16(2 * i, true) << 16, true);
    return b.getFloat32(0, true);
  });
  assert.deepEqual(toF32(norm.data, 'BF16'), expected);
});

test('toF32 of an integer dtype is an error', () => {
  assert.throws(() => toF32(new Uint8Array(8), 'I32'), (e: unknown) => e instanceof EngineError && /cannot read a I32 tensor as floating point/.test(e.message));
});

test('a file cut in the middle of the data: error names the tensor and says truncated (no hang)', { timeout: 10_000 }, async () => {
  const dir = temp();
  const path = join(dir, 'model.safetensors');
  const full = readFileSync(path);
  const cut = Math.floor(full.length / 2);
  writeFileSync(path, full.subarray(0, cut));
  const infos = await readSafetensorsHeader(new FsModelFiles(scoutDir), 'model.safetensors');
  const crossing = infos.filter((t) => t.end > cut).map((t) => t.name);
  const e = await assertEngineError(readSafetensorsHeader(new FsModelFiles(dir), 'model.safetensors'), /model\.safetensors/, /truncated/, /tensor \S+ ends at byte \d+ but the file has \d+ bytes/);
  const named = /tensor (\S+) ends/.exec(e.message)![1];
  assert.ok(crossing.includes(named), `${named} does not cross the cut`);
  assert.match(e.message, new RegExp(`file has ${cut} bytes`));
  await assertEngineError(readCheckpointIndex(new FsModelFiles(dir)), /truncated/);
});

test('a file cut inside the header, or shorter than the length prefix: error, no hang', { timeout: 10_000 }, async () => {
  const dir = temp();
  const path = join(dir, 'model.safetensors');
  const full = readFileSync(path);
  writeFileSync(path, full.subarray(0, 100));
  await assertEngineError(readSafetensorsHeader(new FsModelFiles(dir), 'model.safetensors'), /model\.safetensors/, /header length/, /truncated/);
  writeFileSync(path, full.subarray(0, 5));
  await assertEngineError(readSafetensorsHeader(new FsModelFiles(dir), 'model.safetensors'), /model\.safetensors/, /truncated \(5 bytes\)/);
  writeFileSync(path, new Uint8Array(0));
  await assertEngineError(readSafetensorsHeader(new FsModelFiles(dir), 'model.safetensors'), /truncated \(0 bytes\)/);
});

test('a corrupt header: not JSON, or data_offsets that disagree with the shape', async () => {
  const dir = temp();
  const path = join(dir, 'model.safetensors');
  const full = new Uint8Array(readFileSync(path));
  const broken = full.slice();
  broken[8] = 0x41; // 'A' where '{' was
  writeFileSync(path, broken);
  await assertEngineError(readSafetensorsHeader(new FsModelFiles(dir), 'model.safetensors'), /header is not valid JSON/);
  const tensors = [{ name: 'w', dtype: 'F32', shape: [2, 3], data: new Uint8Array(20) }];
  writeFileSync(path, encodeSafetensors(tensors));
  await assertEngineError(readSafetensorsHeader(new FsModelFiles(dir), 'model.safetensors'), /tensor w has 20 bytes for shape \[2,3\] F32/);
});

test('an unsupported dtype: error names the tensor and the dtype', async () => {
  assert.throws(
    () => parseHeader({ 'model.norm.weight': { dtype: 'F64', shape: [4], data_offsets: [0, 32] } }, 'x.safetensors', 8, 1000),
    (e: unknown) => e instanceof EngineError && e.code === 'bad-model' && /x\.safetensors: tensor model\.norm\.weight has unsupported dtype F64/.test(e.message),
  );
  const dir = temp();
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors([{ name: 'a', dtype: 'F8_E4M3', shape: [8], data: new Uint8Array(8) }]));
  await assertEngineError(readSafetensorsHeader(new FsModelFiles(dir), 'model.safetensors'), /tensor a has unsupported dtype F8_E4M3/);
});

test('encodeSafetensors (test helper) round-trips through the engine reader', async () => {
  const dir = temp();
  const a = Float32Array.of(1, 2, 3, 4, 5, 6);
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [2, 3], data: new Uint8Array(a.buffer) }, { name: 'b', dtype: 'F16', shape: [2], data: u16(0x3c00, 0x4000) }]));
  const files = new FsModelFiles(dir);
  const [ta, tb] = await readSafetensorsHeader(files, 'model.safetensors');
  assert.deepEqual(toF32(await files.range(ta.file, ta.begin, ta.end), ta.dtype), a);
  assert.deepEqual([...toF32(await files.range(tb.file, tb.begin, tb.end), tb.dtype)], [1, 2]);
});

test('toF32: BF16 agrees with bf16BitsToF32 on every one of the 65536 bit patterns', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const out = toF32(new Uint8Array(all.buffer), 'BF16');
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < 65536; i++) {
    const want = bf16BitsToF32(i);
    if (Number.isNaN(want)) assert.equal(bits[i], i << 16 >>> 0, `NaN pattern ${i.toString(16)} keeps its bits`);
    else assert.ok(Object.is(out[i], want), `bf16 0x${i.toString(16)}: ${out[i]} vs ${want}`);
  }
});

test('FsModelFiles.range reads a range in pieces (as a multi-GB tensor is) and stops at the end of the file', async () => {
  const dir = tempModelCopy('tiny-scout');
  try {
    const file = join(dir, 'model.safetensors');
    const whole = readFileSync(file);
    const files = new FsModelFiles(dir, 1000); // pieces of 1000 bytes
    const got = await files.range('model.safetensors', 123, 123 + 5432);
    assert.deepEqual(Buffer.from(got), whole.subarray(123, 123 + 5432));
    const tail = await files.range('model.safetensors', whole.length - 2500, whole.length + 700);
    assert.equal(tail.byteLength, 2500, 'a range past the end is cut at the end');
    assert.deepEqual(Buffer.from(tail), whole.subarray(whole.length - 2500));
  } finally {
    removeDir(dir);
  }
});
