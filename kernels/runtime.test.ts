import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGpu } from '../testing/gpu.ts';
import { GpuContext, kernelCode, STORAGE_BUFFERS_PER_KERNEL, type Binding, type KernelSpec } from './runtime.ts';

test('GpuContext.write: a write larger than writeChunkBytes goes in pieces, at an offset, with a ragged last piece', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device, { writeChunkBytes: 64 });
  assert.equal(ctx.writeChunkBytes, 64);
  const data = Uint8Array.from({ length: 1001 }, (_, i) => (i * 37 + 11) & 0xff);
  const buffer = ctx.createBuffer(1024 + 16, 'written');
  ctx.write(buffer, data, 16);
  const back = new Uint8Array(await ctx.read(buffer, 16, 1001));
  assert.deepEqual(back, data);
  assert.equal(ctx.pendingWriteBytes, 0, 'read() waited for the writes');
  // f32 data through upload(), pieces of 12 bytes (3 floats) over 100 floats
  const floats = Float32Array.from({ length: 100 }, (_, i) => i - 50.25);
  const small = new GpuContext(base.device, { writeChunkBytes: 14 }); // rounded down to a multiple of 4
  assert.equal(small.writeChunkBytes, 12);
  assert.deepEqual(await small.readF32(small.upload(floats, 'floats'), 0, 100), floats);
});

// out[i] = P.value + i for the binding's words (a bind group bound to the wrong buffer, offset or size shows)
const stampKernel: KernelSpec = {
  name: 'runtime_test_stamp',
  uniforms: ['value:u32', 'count:u32'],
  source: `@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < P.count && g.x < arrayLength(&out)) { out[g.x] = P.value + g.x; }
}`,
};

function stamp(ctx: GpuContext, out: Binding, value: number, count: number): void {
  ctx.dispatch({ kernel: stampKernel, params: { value, count }, bindings: [out], workgroups: [Math.ceil(count / 64)] });
}

test('GpuContext bind groups: one call site, different buffers, offsets and sizes never share a bind group', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device);
  const a = ctx.createBuffer(256, 'a'), b = ctx.createBuffer(512, 'b');
  const site = (out: Binding, value: number) => stamp(ctx, out, value, 64);
  site(a, 1000);
  site(b, 2000);
  assert.equal(ctx.cachedBindGroups, 2);
  site(a, 3000); // a hit: the same bind group, the new uniforms
  site({ buffer: a, offset: 0 }, 3000); // the whole buffer by another name: the same bind group
  assert.equal(ctx.cachedBindGroups, 2);
  assert.deepEqual([...(await ctx.readU32(a, 0, 3))], [3000, 3001, 3002]);
  assert.deepEqual([...(await ctx.readU32(b, 0, 3))], [2000, 2001, 2002]);
  // the same buffer at another offset, then with a size: distinct bind groups, each writing only its range
  site({ buffer: b, offset: 256 }, 5000);
  site({ buffer: b, offset: 0, size: 16 }, 6000);
  assert.equal(ctx.cachedBindGroups, 4);
  const back = await ctx.readU32(b);
  assert.deepEqual([...back.subarray(0, 5)], [6000, 6001, 6002, 6003, 2004]);
  assert.deepEqual([...back.subarray(63, 66)], [2063, 5000, 5001]);
  ctx.forgetBindGroups();
  assert.equal(ctx.cachedBindGroups, 0);
  site(a, 7);
  assert.equal(ctx.cachedBindGroups, 1);
  assert.equal((await ctx.readU32(a, 0, 1))[0], 7);
  ctx.destroy();
});

test('GpuContext bind groups: buffers destroyed and made again (and collected) are never bound through a stale bind group', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device);
  for (let i = 0; i < 40; i++) {
    const out = ctx.createBuffer(64, `round ${i}`);
    stamp(ctx, out, i * 100, 16);
    const back = await ctx.readU32(out, 0, 2);
    assert.deepEqual([...back], [i * 100, i * 100 + 1], `round ${i}`);
    out.destroy();
    (globalThis as { gc?: () => void }).gc?.();
  }
  assert.equal(ctx.cachedBindGroups, 40);
  ctx.destroy();
});

test('GpuContext uniforms: u32, i32 and f32 fields packed as DataView little-endian, across uniform arena buffers', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device);
  const kernel: KernelSpec = {
    name: 'runtime_test_fields',
    uniforms: ['u:u32', 'i:i32', 'f:f32', 'w:u32'],
    source: `@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1) fn main() { out[P.w * 3u] = P.u; out[P.w * 3u + 1u] = bitcast<u32>(P.i); out[P.w * 3u + 2u] = bitcast<u32>(P.f); }`,
  };
  // 4200 dispatches of 256 bytes of uniforms each: past one 1 MiB arena buffer, in one submission
  const n = 4200;
  const out = ctx.createBuffer(n * 12, 'fields');
  const values = (w: number) => ({ u: w === 7 ? -1 : w * 65599 + 0.75, i: w % 2 ? -w * 3 : 2 ** 31 + w, f: w / 3 - 100.125, w });
  for (let w = 0; w < n; w++) ctx.dispatch({ kernel, params: values(w), bindings: [out], workgroups: [1] });
  assert.ok(ctx.uniformArenaBytes >= 2 * 1024 * 1024, 'two arena buffers');
  assert.equal(ctx.cachedBindGroups, 2, 'one bind group per arena buffer');
  const back = await ctx.readU32(out);
  const expect = new DataView(new ArrayBuffer(n * 12));
  for (let w = 0; w < n; w++) {
    const v = values(w);
    expect.setUint32(w * 12, v.u, true);
    expect.setInt32(w * 12 + 4, v.i, true);
    expect.setFloat32(w * 12 + 8, v.f, true);
  }
  assert.deepEqual([...back], [...new Uint32Array(expect.buffer)]);
  assert.throws(() => ctx.dispatch({ kernel, params: { u: 1, i: 2, f: NaN, w: 0 }, bindings: [out], workgroups: [1] }), /uniform "f" is missing/);
  ctx.destroy();
});

test('GpuContext pipelines: one kernel with different overridable constants runs each set, in either key order', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device);
  const kernel: KernelSpec = {
    name: 'runtime_test_constants',
    uniforms: ['value:u32'],
    source: `override ADD: u32 = 0u;
override MUL: u32 = 1u;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1) fn main() { out[0] = P.value * MUL + ADD; }`,
  };
  const run = async (constants?: Record<string, number>) => {
    const out = ctx.createBuffer(16, 'out');
    ctx.dispatch({ kernel, params: { value: 10 }, bindings: [out], workgroups: [1], constants });
    return (await ctx.readU32(out, 0, 1))[0];
  };
  assert.equal(await run({ ADD: 5 }), 15);
  assert.equal(await run({ ADD: 7 }), 17);
  assert.equal(await run(), 10);
  assert.equal(await run({ ADD: 5, MUL: 3 }), 35);
  assert.equal(await run({ MUL: 3, ADD: 5 }), 35);
  assert.equal(await run({ MUL: 3 }), 30);
  assert.equal(await run({ ADD: 5 }), 15);
  ctx.destroy();
});

test('GpuContext pipelines: a kernel with more storage buffers than WebGPU guarantees is refused on every adapter', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device);
  const declare = (n: number) => Array.from({ length: n }, (_, i) => `@group(0) @binding(${i + 1}) var<storage, read_write> b${i}: array<u32>;`).join('\n');
  const kernel = (n: number): KernelSpec => ({
    name: `runtime_test_${n}_buffers`,
    uniforms: ['count:u32'],
    source: `${declare(n)}\n@compute @workgroup_size(1) fn main() {\n${Array.from({ length: n }, (_, i) => `  b${i}[0] = P.count;`).join('\n')}\n}`,
  });
  assert.ok(ctx.pipeline(kernel(STORAGE_BUFFERS_PER_KERNEL)), 'the limit itself is fine');
  // SwiftShader and the H200 allow more, so only this check keeps such a kernel out
  assert.throws(() => ctx.pipeline(kernel(STORAGE_BUFFERS_PER_KERNEL + 1)), /9 storage buffers; WebGPU guarantees only 8/);
});

test('KernelSpec.enables: enable directives first in the WGSL; GpuContext.subgroups (and subgroupMinSize) from the device, false when asked', async () => {
  const base = await testGpu();
  const spec: KernelSpec = {
    name: 'runtime_test_subgroup_size',
    uniforms: [],
    enables: ['subgroups'],
    source: `@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1) fn main(@builtin(subgroup_size) size: u32) { out[0] = size; }`,
  };
  assert.ok(kernelCode(spec).startsWith('enable subgroups;\n'));
  assert.ok(!kernelCode(stampKernel).includes('enable'));
  assert.equal(new GpuContext(base.device, { subgroups: false }).subgroups, false);
  assert.equal(new GpuContext(base.device, { subgroups: false }).subgroupMinSize, 0);
  const ctx = new GpuContext(base.device);
  assert.equal(ctx.subgroups, base.device.features.has('subgroups'));
  if (!ctx.subgroups) return;
  const out = ctx.createBuffer(16, 'size');
  ctx.dispatch({ kernel: spec, params: {}, bindings: [out], workgroups: [1] });
  const [size] = await ctx.readU32(out, 0, 1);
  assert.ok(size >= 1 && size <= 128 && (size & (size - 1)) === 0, `subgroup size ${size}`);
  // the kernels size their shuffles by the smallest subgroup size the adapter gives (SwiftShader: 4, the H200: 32)
  assert.ok(ctx.subgroupMinSize >= 4 && ctx.subgroupMinSize <= size, `smallest subgroup size ${ctx.subgroupMinSize}, a kernel's ${size}`);
});

test('GpuContext.skipKernels (benchmarks only) leaves out the dispatches of the kernels named, and only while set', async () => {
  const base = await testGpu();
  const ctx = new GpuContext(base.device);
  const out = ctx.createBuffer(64 * 4, 'stamped');
  const stamp = (value: number) => ctx.dispatch({ kernel: stampKernel, params: { value, count: 64 }, bindings: [out], workgroups: [1] });
  const words = async () => new Uint32Array(await ctx.read(out));
  stamp(100);
  assert.equal((await words())[5], 105);
  ctx.skipKernels = new Set(['some_other_kernel']);
  stamp(200);
  assert.equal((await words())[5], 205, 'another kernel named: recorded');
  ctx.skipKernels = new Set([stampKernel.name]);
  const count = ctx.dispatchCount;
  stamp(300);
  assert.equal(ctx.dispatchCount, count, 'not recorded');
  assert.equal((await words())[5], 205, 'the buffer keeps what the last recorded dispatch wrote');
  ctx.skipKernels = null;
  stamp(400);
  assert.equal((await words())[5], 405, 'recorded again once cleared');
  out.destroy();
});
