// One runtime for every kernel: kernels are data (source, uniform schema, bindings, workgroup count); this file
// builds pipelines, packs uniforms, records dispatches into as few command buffers as possible, and reads back.
// Recording is cheap on purpose (a decode step of Scout records ~486 dispatches, and the CPU time to record them can be
// as long as the GPU's): uniforms go into one arena bound with a dynamic offset, so a bind group depends only on the
// buffers, and bind groups are cached by pipeline and buffers in a tree of Maps keyed by the GPUBuffer objects
// themselves (no key strings, no allocation on a hit; docs/PERFORMANCE.md, "Recording cost (CPU)").

export type UniformType = 'u32' | 'i32' | 'f32';
/** `name:type`, in struct order. The WGSL `struct Params` is generated from this, so it exists in one place. */
export type UniformField = `${string}:${UniformType}`;

export interface KernelSpec {
  name: string;
  /** WGSL body; binding 0 of group 0 is the generated `P: Params` uniform, storage bindings start at 1. */
  source: string;
  uniforms: readonly UniformField[];
  /** WGSL placed before `source` (shared helpers, e.g. kernels/linear/q4.wgsl); they may use the kernel's bindings */
  includes?: readonly string[];
  /** WGSL extensions the kernel needs (`enable` directives, e.g. 'subgroups'; only where the device has them: GpuContext.subgroups) */
  enables?: readonly string[];
}

/** maxStorageBuffersPerShaderStage's default: the most storage bindings a kernel may declare (its includes too). */
export const STORAGE_BUFFERS_PER_KERNEL = 8;

/** The full WGSL of a kernel: enable directives, generated Params struct, includes, body. */
export function kernelCode(kernel: KernelSpec): string {
  const enables = (kernel.enables ?? []).map((e) => `enable ${e};\n`).join('');
  return enables + paramsStruct(kernel.uniforms) + (kernel.includes ?? []).join('\n') + kernel.source;
}

/** The storage bindings a kernel declares, by binding index: read-only or read-write (from its WGSL). */
function storageAccess(code: string): Map<number, GPUBufferBindingType> {
  const out = new Map<number, GPUBufferBindingType>();
  for (const m of code.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<storage\s*(?:,\s*(read_write|read))?\s*>/g)) {
    out.set(Number(m[1]), m[2] === 'read_write' ? 'storage' : 'read-only-storage');
  }
  return out;
}

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface Dispatch {
  kernel: KernelSpec;
  params: Record<string, number>;
  bindings: Binding[];
  workgroups: [number, number?, number?];
  /** pipeline-overridable constants (WGSL `override`) */
  constants?: Record<string, number>;
}

const UNIFORM_ALIGN = 256;
/** one arena buffer holds this many dispatches' uniforms (dynamic offsets, so it may exceed a uniform binding) */
const UNIFORM_ARENA_BYTES = 1024 * 1024;
/** bind groups kept; past this the cache starts over (entries of destroyed buffers are never hit again) */
const BIND_GROUP_CACHE_MAX = 50000;

interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  uniformBytes: number;
  /** the uniform fields parsed once: names, and kinds 0 u32 / 1 i32 / 2 f32 */
  names: string[];
  kinds: number[];
  /**
   * This pipeline's bind groups: a tree of Maps walked by arena index, then binding by binding: the GPUBuffer object,
   * and for a binding with an offset or size, those two numbers (numbers and objects never collide as keys, so the
   * path is unambiguous); the bind group sits under LEAF. Keys are the buffers themselves, held strongly: a cached
   * bind group can never be found for another buffer, even once a buffer is collected.
   */
  groups: BindGroupNode;
}

type BindGroupNode = Map<unknown, unknown>;
type PipelineNode = Map<unknown, unknown>;
/** the key of a bind group in its tree node */
const LEAF = Symbol('bind group');

/** Per-pass GPU timestamps, for benchmarks: every compute pass recorded while a profile is open is timed. */
class PassProfile {
  sets: GPUQuerySet[] = [];
  passes = 0;
  /** per pass: the kernel it holds when dispatches are profiled one by one, else '' */
  names: string[] = [];
  /** pass count at each mark() */
  marks: number[] = [];
  static readonly PER_SET = 2048; // pairs per query set (4096 queries, the WebGPU maximum)
  constructor(
    private device: GPUDevice,
    readonly perDispatch: boolean,
  ) {}
  writes(name = ''): GPUComputePassTimestampWrites {
    this.names.push(name);
    const set = Math.floor(this.passes / PassProfile.PER_SET);
    if (set === this.sets.length) this.sets.push(this.device.createQuerySet({ type: 'timestamp', count: 2 * PassProfile.PER_SET }));
    const i = (this.passes++ % PassProfile.PER_SET) * 2;
    return { querySet: this.sets[set], beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
  }
}

export function paramsStruct(fields: readonly UniformField[]): string {
  if (fields.length === 0) return 'struct Params { _unused: u32 }\n@group(0) @binding(0) var<uniform> P: Params;\n';
  const members = fields.map((f) => {
    const [name, type] = f.split(':');
    return `  ${name}: ${type},`;
  });
  return `struct Params {\n${members.join('\n')}\n}\n@group(0) @binding(0) var<uniform> P: Params;\n`;
}

/** queue.writeBuffer calls are at most this large (GpuContext.write splits larger writes) */
export const WRITE_CHUNK_BYTES = 256 * 1024 * 1024;

export class GpuContext {
  readonly device: GPUDevice;
  /** the largest storage binding we allow ourselves (never over 128 MiB, see design decision 3) */
  readonly maxBindingBytes: number;
  readonly hasTimestamps: boolean;
  /** the adapter is a CPU (SwiftShader): kernels with a CPU-friendly variant use it */
  readonly cpuKernels: boolean;
  /** WGSL has the 4×8-bit integer dot product (packed_4x8_integer_dot_product): the q4 mat-vecs use it (quantize-x.ts) */
  readonly integerDot: boolean;
  /** the device has the 'subgroups' feature (requested where the adapter offers it): kernels may `enable subgroups;` */
  readonly subgroups: boolean;
  /**
   * with subgroups, the adapter's smallest subgroup size (adapterInfo.subgroupMinSize; 4, the least WebGPU allows,
   * where the device does not say; SwiftShader 4, NVIDIA 32), else 0: kernels size their shuffles by it
   */
  readonly subgroupMinSize: number;
  /** by kernel name, then each overridable constant's name and value in the order given; the pipeline under LEAF */
  private pipelines = new Map<string, PipelineNode>();
  private allPipelines: Pipeline[] = [];
  private bindGroupCount = 0;
  private readonly maxWorkgroupsPerDimension: number;
  /** setBindGroup's dynamic offsets, one array reused (the binding copies it during the call) */
  private readonly dynamicOffsets = [0];
  /** the arena buffer and byte offset of the last allocUniforms() */
  private uniformIndex = 0;
  private uniformOffset = 0;
  private profile: PassProfile | null = null;
  private uniformBuffers: GPUBuffer[] = [];
  private uniformStaging: ArrayBuffer[] = [];
  /** views of each staging arena, by uniform kind: u32, i32, f32 */
  private stagingViews: [Uint32Array, Int32Array, Float32Array][] = [];
  private uniformUsed = 0; // bytes used in the current flush, across arena buffers
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private submitted: (() => void)[] = [];
  dispatchCount = 0;
  submitCount = 0;
  /**
   * Benchmarks only (`bench -- model --kernel-ablation`): dispatches of these kernels are dropped, so a step's GPU time
   * without them can be measured in the stream. Results are wrong while it is set.
   */
  skipKernels: ReadonlySet<string> | null = null;
  /** bytes given to queue.writeBuffer since the last settleWrites(): Dawn keeps a staging copy of each until the GPU is done */
  pendingWriteBytes = 0;
  peakPendingWriteBytes = 0;

  /** the largest single queue.writeBuffer: larger writes go in pieces (a multiple of 4) */
  readonly writeChunkBytes: number;

  constructor(device: GPUDevice, options: { maxBindingBytes?: number; cpuKernels?: boolean; integerDot?: boolean; subgroups?: boolean; writeChunkBytes?: number } = {}) {
    this.cpuKernels = options.cpuKernels ?? false;
    this.integerDot = options.integerDot ?? false;
    // false forces the kernels' paths without subgroups (tests); true only where the device has the feature
    this.subgroups = (options.subgroups ?? true) && device.features.has('subgroups');
    this.subgroupMinSize = this.subgroups ? Math.max(4, device.adapterInfo?.subgroupMinSize ?? 4) : 0;
    this.writeChunkBytes = Math.max(4, Math.floor((options.writeChunkBytes ?? WRITE_CHUNK_BYTES) / 4) * 4);
    this.device = device;
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    // segments are sized by the device's own limit (requested explicitly, design decision 3): 128 MiB where that is
    // all a GPU allows, up to 2 GiB on desktop GPUs, where fewer segments mean fewer dispatches per step
    // (a multiple of 256, so buffers rounded up to 16 bytes still bind whole)
    this.maxBindingBytes = Math.min(limit, options.maxBindingBytes ?? Math.floor(limit / 256) * 256);
    this.hasTimestamps = device.features.has('timestamp-query');
    this.maxWorkgroupsPerDimension = device.limits.maxComputeWorkgroupsPerDimension;
  }

  pipeline(kernel: KernelSpec, constants?: Record<string, number>): GPUComputePipeline {
    return this.pipelineOf(kernel, constants).pipeline;
  }

  private pipelineOf(kernel: KernelSpec, constants?: Record<string, number>): Pipeline {
    // no key string: kernel.name and the constants' names are the same strings every time (their hashes are kept)
    let node = this.pipelines.get(kernel.name);
    if (!node) this.pipelines.set(kernel.name, (node = new Map()));
    if (constants) {
      for (const k in constants) {
        let byValue = node.get(k) as PipelineNode | undefined;
        if (!byValue) node.set(k, (byValue = new Map()));
        const v = constants[k];
        let next = byValue.get(v) as PipelineNode | undefined;
        if (!next) byValue.set(v, (next = new Map()));
        node = next;
      }
    }
    let p = node.get(LEAF) as Pipeline | undefined;
    if (!p) {
      const code = kernelCode(kernel);
      const module = this.device.createShaderModule({ label: kernel.name, code });
      const uniformBytes = Math.max(16, kernel.uniforms.length * 4);
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: uniformBytes } },
      ];
      const storage = storageAccess(code);
      // what every WebGPU device allows (the browser's default limit): a kernel over it would fail on some machines only
      if (storage.size > STORAGE_BUFFERS_PER_KERNEL) throw new Error(`${kernel.name}: ${storage.size} storage buffers; WebGPU guarantees only ${STORAGE_BUFFERS_PER_KERNEL} per shader stage`);
      for (const [binding, type] of [...storage].sort((a, b) => a[0] - b[0])) entries.push({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } });
      const layout = this.device.createBindGroupLayout({ label: kernel.name, entries });
      const pipeline = this.device.createComputePipeline({
        label: kernel.name,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main', constants },
      });
      const fields = kernel.uniforms.map((f) => f.split(':'));
      p = { pipeline, layout, uniformBytes, names: fields.map((f) => f[0]), kinds: fields.map((f) => (f[1] === 'u32' ? 0 : f[1] === 'i32' ? 1 : 2)), groups: new Map() };
      node.set(LEAF, p);
      this.allPipelines.push(p);
    }
    return p;
  }

  createBuffer(size: number, label: string, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
    const aligned = Math.max(16, Math.ceil(size / 16) * 16);
    if (aligned > this.device.limits.maxBufferSize) {
      throw new Error(`Buffer "${label}" needs ${aligned} bytes; this GPU allows at most ${this.device.limits.maxBufferSize} per buffer.`);
    }
    return this.device.createBuffer({ size: aligned, usage, label });
  }

  upload(data: ArrayBufferView, label: string): GPUBuffer {
    const buffer = this.createBuffer(data.byteLength, label);
    this.write(buffer, data);
    return buffer;
  }

  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    // writeBuffer needs a size that is a multiple of 4
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    this.pendingWriteBytes += bytes.byteLength;
    this.peakPendingWriteBytes = Math.max(this.peakPendingWriteBytes, this.pendingWriteBytes);
    // in pieces: Dawn stages each writeBuffer in one allocation of its size, and a segment of a Scout-width f32
    // weight is up to the binding limit (GiBs)
    for (let at = 0; at < bytes.byteLength; at += this.writeChunkBytes) {
      const piece = bytes.subarray(at, Math.min(at + this.writeChunkBytes, bytes.byteLength));
      if (piece.byteLength % 4 === 0) {
        this.device.queue.writeBuffer(buffer, offset + at, piece);
      } else {
        const padded = new Uint8Array(Math.ceil(piece.byteLength / 4) * 4);
        padded.set(piece);
        this.device.queue.writeBuffer(buffer, offset + at, padded);
      }
    }
  }

  /** Packs a dispatch's uniforms into the arena; sets uniformIndex (the arena buffer) and uniformOffset (the dynamic offset). */
  private allocUniforms(kernel: KernelSpec, p: Pipeline, params: Record<string, number>): void {
    const size = p.uniformBytes;
    let index = Math.floor(this.uniformUsed / UNIFORM_ARENA_BYTES);
    let offset = this.uniformUsed % UNIFORM_ARENA_BYTES;
    if (offset + size > UNIFORM_ARENA_BYTES) {
      index += 1;
      offset = 0;
    }
    while (this.uniformBuffers.length <= index) {
      this.uniformBuffers.push(
        this.device.createBuffer({ size: UNIFORM_ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'uniforms' }),
      );
      const staging = new ArrayBuffer(UNIFORM_ARENA_BYTES);
      this.uniformStaging.push(staging);
      this.stagingViews.push([new Uint32Array(staging), new Int32Array(staging), new Float32Array(staging)]);
    }
    // typed-array stores convert as DataView's setUint32 / setInt32 / setFloat32 do (WebGPU is little-endian only)
    const views = this.stagingViews[index];
    const u32 = views[0], i32 = views[1], f32 = views[2];
    const { names, kinds } = p;
    const at = offset / 4;
    for (let i = 0; i < names.length; i++) {
      const value = params[names[i]];
      if (value === undefined || Number.isNaN(value)) throw new Error(`${kernel.name}: uniform "${names[i]}" is missing`);
      const kind = kinds[i];
      if (kind === 2) f32[at + i] = value;
      else if (kind === 1) i32[at + i] = value;
      else u32[at + i] = value;
    }
    this.uniformUsed = index * UNIFORM_ARENA_BYTES + Math.ceil((offset + size) / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    this.uniformIndex = index;
    this.uniformOffset = offset;
  }

  /** The cached bind group of a dispatch (pipeline, arena buffer, bindings), made on a miss. */
  private bindGroupOf(p: Pipeline, d: Dispatch): GPUBindGroup {
    let node = p.groups;
    let next = node.get(this.uniformIndex) as BindGroupNode | undefined;
    if (next) {
      node = next;
      const bindings = d.bindings;
      for (let i = 0; i < bindings.length; i++) {
        const b = bindings[i];
        if ('buffer' in b && (b.offset || b.size !== undefined)) {
          next = node.get(b.buffer) as BindGroupNode | undefined;
          if (next) next = next.get(b.offset ?? 0) as BindGroupNode | undefined;
          if (next) next = next.get(b.size ?? -1) as BindGroupNode | undefined;
        } else {
          next = node.get('buffer' in b ? b.buffer : b) as BindGroupNode | undefined;
        }
        if (!next) break;
        node = next;
      }
      if (next) {
        const hit = node.get(LEAF) as GPUBindGroup | undefined;
        if (hit) return hit;
      }
    }
    // a miss: the path, made as it goes (a whole binding is keyed like {buffer, offset 0, no size}: the same bind group)
    if (this.bindGroupCount >= BIND_GROUP_CACHE_MAX) this.forgetBindGroups();
    const child = (n: BindGroupNode, key: unknown): BindGroupNode => {
      let c = n.get(key) as BindGroupNode | undefined;
      if (!c) n.set(key, (c = new Map()));
      return c;
    };
    node = child(p.groups, this.uniformIndex);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniformBuffers[this.uniformIndex], offset: 0, size: p.uniformBytes } }];
    d.bindings.forEach((b, i) => {
      if ('buffer' in b && (b.offset || b.size !== undefined)) node = child(child(child(node, b.buffer), b.offset ?? 0), b.size ?? -1);
      else node = child(node, 'buffer' in b ? b.buffer : b);
      entries.push({ binding: i + 1, resource: 'buffer' in b ? b : { buffer: b } });
    });
    const bindGroup = this.device.createBindGroup({ layout: p.layout, entries, label: d.kernel.name });
    node.set(LEAF, bindGroup);
    this.bindGroupCount++;
    return bindGroup;
  }

  /** Records a dispatch into the given pass (or the context's own pending pass). */
  encode(pass: GPUComputePassEncoder, d: Dispatch): void {
    const p = this.pipelineOf(d.kernel, d.constants);
    this.allocUniforms(d.kernel, p, d.params);
    const bindGroup = this.bindGroupOf(p, d);
    const w = d.workgroups;
    const x = w[0], y = w[1] ?? 1, z = w[2] ?? 1;
    const maxDim = this.maxWorkgroupsPerDimension;
    if (x > maxDim || y > maxDim || z > maxDim) throw new Error(`${d.kernel.name}: dispatch ${x}×${y}×${z} exceeds ${maxDim} per dimension`);
    pass.setPipeline(p.pipeline);
    this.dynamicOffsets[0] = this.uniformOffset;
    pass.setBindGroup(0, bindGroup, this.dynamicOffsets);
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
  }

  /** Bind groups in the cache (made and not forgotten since). */
  get cachedBindGroups(): number {
    return this.bindGroupCount;
  }

  /** GPU bytes of the uniform arenas */
  get uniformArenaBytes(): number {
    return this.uniformBuffers.length * UNIFORM_ARENA_BYTES;
  }

  /** Forgets cached bind groups of buffers about to be destroyed (optional: stale entries are only memory). */
  forgetBindGroups(): void {
    for (const p of this.allPipelines) p.groups.clear();
    this.bindGroupCount = 0;
  }

  /**
   * Starts timing every compute pass with GPU timestamps (needs `timestamp-query`); markProfile() separates steps.
   * `perDispatch`: every dispatch in a pass of its own, to time each kernel (slower: for breakdowns only).
   */
  startProfile(perDispatch = false): void {
    if (!this.hasTimestamps) throw new Error('GPU timestamps need the "timestamp-query" feature, which this adapter lacks');
    this.flush();
    this.profile = new PassProfile(this.device, perDispatch);
  }

  /** Ends a step of the open profile (the passes recorded since the last mark). */
  markProfile(): void {
    this.flush(); // the step's last pass ends here
    if (this.profile) this.profile.marks.push(this.profile.passes);
  }

  /**
   * Ends the profile; gives the GPU time in ns of each marked step (sum of its passes' begin→end), and, when
   * dispatches were profiled one by one, the GPU time and count of each kernel.
   */
  async endProfile(): Promise<{ steps: number[]; kernels: Map<string, { ns: number; count: number }> }> {
    const prof = this.profile;
    if (!prof) throw new Error('no profile is open');
    this.flush();
    this.profile = null;
    const n = prof.passes;
    const kernels = new Map<string, { ns: number; count: number }>();
    if (n === 0) return { steps: prof.marks.map(() => 0), kernels };
    const resolve = this.device.createBuffer({ size: prof.sets.length * PassProfile.PER_SET * 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const encoder = this.device.createCommandEncoder();
    prof.sets.forEach((set, i) => {
      const count = Math.min(PassProfile.PER_SET, n - i * PassProfile.PER_SET) * 2;
      encoder.resolveQuerySet(set, 0, count, resolve, i * PassProfile.PER_SET * 16);
    });
    this.device.queue.submit([encoder.finish()]);
    const t = new BigInt64Array(await this.read(resolve, 0, n * 16));
    resolve.destroy();
    prof.sets.forEach((s) => s.destroy());
    const passNs = Array.from({ length: n }, (_, i) => Math.max(0, Number(t[2 * i + 1] - t[2 * i])));
    passNs.forEach((ns, i) => {
      const name = prof.names[i];
      if (!name) return;
      const k = kernels.get(name) ?? { ns: 0, count: 0 };
      k.ns += ns;
      k.count++;
      kernels.set(name, k);
    });
    let from = 0;
    const steps = prof.marks.map((to) => {
      let ns = 0;
      for (let i = from; i < to; i++) ns += passNs[i];
      from = to;
      return ns;
    });
    return { steps, kernels };
  }

  private beginPass(encoder: GPUCommandEncoder): GPUComputePassEncoder {
    return encoder.beginComputePass(this.profile ? { timestampWrites: this.profile.writes() } : undefined);
  }

  dispatch(d: Dispatch): void {
    if (this.skipKernels?.has(d.kernel.name)) return;
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (this.profile?.perDispatch) {
      if (this.pass) this.pass.end();
      const pass = this.encoder.beginComputePass({ timestampWrites: this.profile.writes(d.kernel.name + (d.constants?.GATHER ? ' (gather)' : d.constants?.DECODE === 0 ? ' (mat-mul)' : '')) });
      this.encode(pass, d);
      pass.end();
      this.pass = null;
      return;
    }
    if (!this.pass) this.pass = this.beginPass(this.encoder);
    this.encode(this.pass, d);
  }

  /** Gives the pending encoder (closing the open pass) for copies between dispatches. */
  commandEncoder(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Writes the uniforms of everything recorded so far and submits it. */
  flush(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    const used = this.uniformUsed;
    for (let i = 0; i * UNIFORM_ARENA_BYTES < used; i++) {
      const bytes = Math.min(UNIFORM_ARENA_BYTES, used - i * UNIFORM_ARENA_BYTES);
      this.device.queue.writeBuffer(this.uniformBuffers[i], 0, this.uniformStaging[i], 0, bytes);
    }
    this.uniformUsed = 0;
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.submitCount++;
      this.encoder = null;
    }
    const after = this.submitted;
    this.submitted = [];
    for (const fn of after) fn();
  }

  /**
   * Runs `fn` right after the recorded work is next submitted (e.g. mapping a staging buffer again once the copies
   * that read it are in the queue: a buffer must not be mapped, or be mapping, when a submission uses it).
   */
  afterSubmit(fn: () => void): void {
    this.submitted.push(fn);
  }

  /**
   * Waits until the GPU has consumed every queue write so far, so Dawn can free their staging copies. Loaders call
   * it every few hundred MiB: without it, a 60 GB model's uploads pile up as staging memory next to the weights.
   */
  async settleWrites(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.pendingWriteBytes = 0;
  }

  /** Flushes pending work and reads `size` bytes of `buffer` back to the CPU. */
  async read(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({ size: Math.ceil(size / 4) * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.commandEncoder().copyBufferToBuffer(buffer, offset, staging, 0, staging.size);
    this.flush();
    const written = this.pendingWriteBytes;
    await staging.mapAsync(GPUMapMode.READ);
    // everything submitted before this read has run: Dawn has let go of those writes' staging (not of later ones:
    // a decode step may be recorded while the read is on its way, decode.ts)
    this.pendingWriteBytes = Math.max(0, this.pendingWriteBytes - written);
    const out = staging.getMappedRange().slice(0, size);
    staging.unmap();
    staging.destroy();
    return out;
  }

  async readF32(buffer: GPUBuffer, offset = 0, count?: number): Promise<Float32Array> {
    const size = count === undefined ? buffer.size - offset : count * 4;
    return new Float32Array(await this.read(buffer, offset, size));
  }

  async readU32(buffer: GPUBuffer, offset = 0, count?: number): Promise<Uint32Array> {
    const size = count === undefined ? buffer.size - offset : count * 4;
    return new Uint32Array(await this.read(buffer, offset, size));
  }

  private empties: GPUBuffer[] = [];
  /** Small buffers for bindings a kernel declares but a call does not use (distinct `which` when one of them is written). */
  emptyBuffer(which = 0): GPUBuffer {
    while (this.empties.length <= which) this.empties.push(this.createBuffer(16, `empty${this.empties.length}`));
    return this.empties[which];
  }

  destroy(): void {
    for (const b of this.uniformBuffers) b.destroy();
    this.uniformBuffers = [];
    this.uniformStaging = [];
    this.stagingViews = [];
    this.pipelines.clear();
    this.allPipelines = [];
    this.bindGroupCount = 0;
  }
}

/** Software adapters run on the CPU, where a different kernel shape is fast. */
export function isCpuAdapter(info: GPUAdapterInfo): boolean {
  return /swiftshader|llvmpipe|lavapipe|software|\bcpu\b/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

/**
 * A scratch buffer per context that only grows. A smaller one is never destroyed here (work recorded but not yet
 * submitted may still bind it): it is left to the garbage collector.
 */
/** Whether this WebGPU implementation's WGSL has the 4×8-bit integer dot product (GpuContext's integerDot). */
export function hasIntegerDot(gpu: { wgslLanguageFeatures?: { has(name: string): boolean } } | undefined): boolean {
  return gpu?.wgslLanguageFeatures?.has('packed_4x8_integer_dot_product') ?? false;
}

export function growingScratch(label: string, minBytes = 16): (ctx: GpuContext, bytes: number) => GPUBuffer {
  const buffers = new WeakMap<GpuContext, GPUBuffer>();
  return (ctx, bytes) => {
    let b = buffers.get(ctx);
    if (!b || b.size < bytes) {
      b = ctx.createBuffer(Math.max(bytes, minBytes), label);
      buffers.set(ctx, b);
    }
    return b;
  };
}

export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
