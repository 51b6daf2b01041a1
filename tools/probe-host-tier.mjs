// Where expert bytes can wait on the host, and how fast each way reaches a GPU slot (issue 8, paging). Measures:
//   memcpy  — JS bytes into a mapped MAP_WRITE staging buffer (the pager's path today: one CPU copy per page-in);
//   copy    — copyBufferToBuffer from an unmapped MAP_WRITE|COPY_SRC buffer into a STORAGE buffer (a "pinned" tier:
//             bytes written once, then every page-in is a GPU copy with no CPU work);
//   and GPU memory (nvidia-smi) before and after allocating the tier, to see which heap Dawn put it in.
// Run with the device tools unpacked (tools/device-steps.sh), from .gpu-model/ so that `webgpu` resolves there
// (docs/PERFORMANCE.md, run P has the command): node probe-host-tier.mjs [MiB per buffer] [buffers]; here on
// SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node tools/probe-host-tier.mjs 16 4
import { execSync } from 'node:child_process';
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const mib = Number(process.argv[2] ?? 64);
const count = Number(process.argv[3] ?? 16);
const size = mib * 2 ** 20;
const smi = () => {
  try {
    return execSync('nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() + ' MiB';
  } catch {
    return 'n/a';
  }
};
const gpu = create([]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const device = await adapter.requestDevice({ requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
console.log(`adapter ${adapter.info.vendor} / ${adapter.info.architecture || adapter.info.device}; ${count} × ${mib} MiB`);
const src = new Uint8Array(size);
for (let i = 0; i < size; i += 4096) src[i] = i & 255;

console.log(`GPU memory before the tier: ${smi()}`);
const tier = [];
let t0 = performance.now();
for (let i = 0; i < count; i++) {
  const b = device.createBuffer({ size, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
  new Uint8Array(b.getMappedRange()).set(src);
  b.unmap();
  tier.push(b);
}
await device.queue.onSubmittedWorkDone();
let ms = performance.now() - t0;
console.log(`tier filled (create + memcpy + unmap): ${((count * size) / (ms * 1e6)).toFixed(2)} GB/s`);
console.log(`GPU memory with the tier: ${smi()}`);

const slots = [0, 1].map(() => device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC }));
// pinned: GPU copies from the tier, nothing on the CPU
for (let rep = 0; rep < 3; rep++) {
  t0 = performance.now();
  const enc = device.createCommandEncoder();
  for (let i = 0; i < count; i++) enc.copyBufferToBuffer(tier[i], 0, slots[i % 2], 0, size);
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  ms = performance.now() - t0;
  console.log(`copy from the pinned tier: ${((count * size) / (ms * 1e6)).toFixed(2)} GB/s`);
}

// today's path: a mapped staging ring of 2, memcpy then copy
const ring = [0, 1].map(() => device.createBuffer({ size, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true }));
const ready = [Promise.resolve(), Promise.resolve()];
for (let rep = 0; rep < 3; rep++) {
  let memcpyMs = 0;
  t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const k = i % 2;
    await ready[k];
    const m0 = performance.now();
    new Uint8Array(ring[k].getMappedRange()).set(src);
    memcpyMs += performance.now() - m0;
    ring[k].unmap();
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(ring[k], 0, slots[k], 0, size);
    device.queue.submit([enc.finish()]);
    ready[k] = ring[k].mapAsync(GPUMapMode.WRITE);
  }
  await Promise.all(ready);
  ms = performance.now() - t0;
  console.log(`staging ring (memcpy + copy): ${((count * size) / (ms * 1e6)).toFixed(2)} GB/s; the memcpy alone ${((count * size) / (memcpyMs * 1e6)).toFixed(2)} GB/s`);
}
// a plain JS copy between two heap arrays, for scale
const dst = new Uint8Array(size);
t0 = performance.now();
for (let i = 0; i < count; i++) dst.set(src);
ms = performance.now() - t0;
console.log(`JS heap memcpy: ${((count * size) / (ms * 1e6)).toFixed(2)} GB/s`);
device.destroy();
