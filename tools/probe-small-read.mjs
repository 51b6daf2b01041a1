// How fast one dispatch can read S MiB, by read-kernel shape (back-to-back dependent dispatches, windows rotating over a
// 1 GiB buffer so reads come from memory). V0: roofline.wgsl's grid-stride loop on 2048 workgroups; K=k: each thread
// issues exactly k independent 16-byte loads (unrolled, bounds-checked) before summing, grid = ⌈n / (256·k)⌉.
// Whether a small dispatch's shortfall (the kernel bench's "roofline kernel reading S MiB per dispatch") comes from the
// read kernel's shape or from the dispatch itself (docs/PERFORMANCE.md run X). Wall time of 300 dispatches in one
// pass / 300, median of 5. Run with the device tools unpacked, from .gpu-model/ so that `webgpu` resolves there:
// `cp tools/probe-small-read.mjs .gpu-model/`, then `/tmp/node .gpu-model/probe-small-read.mjs`; here on SwiftShader
// (figures meaningless, the code path only): VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node
// tools/probe-small-read.mjs small
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const device = await adapter.requestDevice({ requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
const small = process.argv[2] === 'small';
const total = small ? 64 * 2 ** 20 : 2 ** 30;
const data = device.createBuffer({ size: total, usage: GPUBufferUsage.STORAGE });
const out = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
const head = `@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> out: array<atomic<u32>>;
`;
const v0 = head + `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let G = nwg.x * 256u; let n = arrayLength(&src);
  var acc = vec4<u32>(0u); var i = gid.x;
  while (i < n && n - i > 3u * G) { let a = src[i]; let b = src[i + G]; let c = src[i + 2u * G]; let d = src[i + 3u * G]; acc += (a + b) + (c + d); i += 4u * G; }
  while (i < n) { acc += src[i]; i += G; }
  if (acc.x == 0x9e3779b9u) { atomicAdd(&out[0], 1u); }
}`;
const vk = (k) => head + `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let G = nwg.x * 256u; let n = arrayLength(&src);
  var v: array<vec4<u32>, ${k}>;
  for (var j = 0u; j < ${k}u; j++) { let i = gid.x + j * G; v[j] = src[min(i, n - 1u)] * select(0u, 1u, i < n); }
  var acc = vec4<u32>(0u);
  for (var j = 0u; j < ${k}u; j++) { acc += v[j]; }
  if (acc.x == 0x9e3779b9u) { atomicAdd(&out[0], 1u); }
}`;
const kernels = { V0: { code: v0, groups: () => 2048 } };
for (const k of [1, 2, 4, 8, 16]) kernels[`K=${k}`] = { code: vk(k), groups: (n) => Math.ceil(n / (256 * k)) };
const pipes = Object.fromEntries(Object.entries(kernels).map(([name, k]) => [name, device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: k.code }), entryPoint: 'main' } })]));
const sizes = (small ? [1, 4] : [14.1, 19.7, 22.5, 45, 90, 1024]).map((m) => Math.floor((m * 2 ** 20) / 256) * 256);
const R = small ? 8 : 300;
async function time(pipe, bytes, groups) {
  const windows = Math.max(1, Math.floor(total / bytes));
  const bgs = Array.from({ length: Math.min(windows, R) }, (_, w) => device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: data, offset: w * bytes, size: bytes } }, { binding: 1, resource: { buffer: out } }] }));
  const reps = bytes >= 2 ** 30 ? 20 : R;
  const ms = [];
  for (let rep = 0; rep < 6; rep++) {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe);
    for (let i = 0; i < reps; i++) { pass.setBindGroup(0, bgs[i % bgs.length]); pass.dispatchWorkgroups(groups); }
    pass.end();
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    if (rep > 0) ms.push((performance.now() - t0) / reps);
  }
  return ms.sort((a, b) => a - b)[2];
}
const full = await time(pipes.V0, sizes[sizes.length - 1], 2048);
const roof = sizes[sizes.length - 1] / (full * 1e6);
console.log(`${adapter.info.vendor} / ${adapter.info.architecture || adapter.info.device}: V0 on ${(sizes[sizes.length - 1] / 2 ** 20).toFixed(0)} MiB: ${roof.toFixed(1)} GB/s (the roofline here)`);
for (const bytes of sizes.slice(0, -1)) {
  const n = bytes / 16;
  const row = [];
  for (const [name, k] of Object.entries(kernels)) {
    const ms = await time(pipes[name], bytes, k.groups(n));
    row.push(`${name} ${(1000 * ms).toFixed(2)} µs = ${((100 * bytes) / (ms * 1e6) / roof).toFixed(1)} %`);
  }
  console.log(`${(bytes / 2 ** 20).toFixed(1)} MiB: ${row.join(', ')}`);
}
