// Whether a page-in copy overlaps independent kernels in WebGPU's one queue (issue 8, paging: the paging bound's
// argument in docs/PERFORMANCE.md run X rests on it). Times, by wall clock to onSubmittedWorkDone (median of 5 after
// 2 warm-ups):
//   kernels — K dependent streaming-read dispatches in one compute pass (64 MiB windows of a 1 GiB buffer);
//   copy    — copyBufferToBuffer of C MiB from a MAP_WRITE|COPY_SRC buffer (the pinned tier) into a STORAGE buffer;
//   copy, then kernels / kernels, copy, kernels — both in one command buffer, the kernels not touching the copy's
//   buffers. Overlap shows as a sum near max(kernels, copy); none as a sum near kernels + copy.
// Run with the device tools unpacked, from .gpu-model/ so that `webgpu` resolves there: node probe-copy-overlap.mjs
// [K] [C MiB]; here on SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node
// tools/probe-copy-overlap.mjs 8 16
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const K = Number(process.argv[2] ?? 360);
const copyMiB = Number(process.argv[3] ?? 256);
const gpu = create([]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const device = await adapter.requestDevice({ requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
const small = K <= 16;
const windowBytes = (small ? 1 : 64) * 2 ** 20;
const readBytes = Math.min(2 ** 30, adapter.limits.maxStorageBufferBindingSize, (small ? 8 : 1024) * 2 ** 20);
console.log(`adapter ${adapter.info.vendor} / ${adapter.info.architecture || adapter.info.device}; ${K} reads of ${windowBytes / 2 ** 20} MiB; a copy of ${copyMiB} MiB`);

const module = device.createShaderModule({
  code: `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> out: array<atomic<u32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let G = nwg.x * 256u;
  var acc = vec4<u32>(0u);
  for (var i = gid.x; i < arrayLength(&src); i += G) { acc += src[i]; }
  if (acc.x == 0x9e3779b9u) { atomicAdd(&out[0], 1u); }
}`,
});
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
const data = device.createBuffer({ size: readBytes, usage: GPUBufferUsage.STORAGE });
const out = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
const windows = Math.floor(readBytes / windowBytes);
const groups = Array.from({ length: windows }, (_, w) =>
  device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: data, offset: w * windowBytes, size: windowBytes } }, { binding: 1, resource: { buffer: out } }] }),
);
const copyBytes = copyMiB * 2 ** 20;
const tier = device.createBuffer({ size: copyBytes, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
new Uint8Array(tier.getMappedRange()).fill(7);
tier.unmap();
const slot = device.createBuffer({ size: copyBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });

const kernels = (enc, n) => {
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  for (let i = 0; i < n; i++) {
    pass.setBindGroup(0, groups[i % windows]);
    pass.dispatchWorkgroups(1024);
  }
  pass.end();
};
const copy = (enc) => enc.copyBufferToBuffer(tier, 0, slot, 0, copyBytes);
const cases = {
  kernels: (enc) => kernels(enc, K),
  copy: (enc) => copy(enc),
  'copy, then kernels': (enc) => {
    copy(enc);
    kernels(enc, K);
  },
  'kernels, copy, kernels': (enc) => {
    kernels(enc, K / 2);
    copy(enc);
    kernels(enc, K / 2);
  },
};
const ms = {};
for (const [name, record] of Object.entries(cases)) {
  const times = [];
  for (let rep = 0; rep < 7; rep++) {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    record(enc);
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    if (rep >= 2) times.push(performance.now() - t0);
  }
  ms[name] = times.sort((a, b) => a - b)[2];
  console.log(`${name}: ${ms[name].toFixed(3)} ms`);
}
const both = ms['copy, then kernels'];
console.log(`kernels + copy = ${(ms.kernels + ms.copy).toFixed(3)} ms, max = ${Math.max(ms.kernels, ms.copy).toFixed(3)} ms; copy then kernels ${both.toFixed(3)} ms: ${(100 * (ms.kernels + ms.copy - both) / Math.min(ms.kernels, ms.copy)).toFixed(0)} % of the shorter one hidden`);
