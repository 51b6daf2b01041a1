// One runtime for every kernel: kernels are data (source, uniform schema, bindings, workgroup count); this file
// builds pipelines, packs uniforms, records dispatches into as few command buffers as possible, and reads back.

export type UniformType = 'u32' | 'i32' | 'f32';
/** `name:type`, in struct order. The WGSL `struct Params` is generated from this, so it exists in one place. */
export type UniformField = `${string}:${UniformType}`;

export interface KernelSpec {
  name: string;
  /** WGSL body; binding 0 of group 0 is the generated `P: Params` uniform, storage bindings start at 1. */
  source: string;
  uniforms: readonly UniformField[];
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
const UNIFORM_ARENA_BYTES = 64 * 1024;

export function paramsStruct(fields: readonly UniformField[]): string {
  if (fields.length === 0) return 'struct Params { _unused: u32 }\n@group(0) @binding(0) var<uniform> P: Params;\n';
  const members = fields.map((f) => {
    const [name, type] = f.split(':');
    return `  ${name}: ${type},`;
  });
  return `struct Params {\n${members.join('\n')}\n}\n@group(0) @binding(0) var<uniform> P: Params;\n`;
}

export class GpuContext {
  readonly device: GPUDevice;
  /** the largest storage binding we allow ourselves (never over 128 MiB, see design decision 3) */
  readonly maxBindingBytes: number;
  readonly hasTimestamps: boolean;
  /** the adapter is a CPU (SwiftShader): kernels with a CPU-friendly variant use it */
  readonly cpuKernels: boolean;
  private pipelines = new Map<string, GPUComputePipeline>();
  private uniformBuffers: GPUBuffer[] = [];
  private uniformStaging: ArrayBuffer[] = [];
  private uniformUsed = 0; // bytes used in the current flush, across arena buffers
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  dispatchCount = 0;

  constructor(device: GPUDevice, options: { maxBindingBytes?: number; cpuKernels?: boolean } = {}) {
    this.cpuKernels = options.cpuKernels ?? false;
    this.device = device;
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    this.maxBindingBytes = Math.min(limit, options.maxBindingBytes ?? 128 * 1024 * 1024);
    this.hasTimestamps = device.features.has('timestamp-query');
  }

  pipeline(kernel: KernelSpec, constants?: Record<string, number>): GPUComputePipeline {
    const key = kernel.name + (constants ? JSON.stringify(constants) : '');
    let p = this.pipelines.get(key);
    if (!p) {
      const code = paramsStruct(kernel.uniforms) + kernel.source;
      const module = this.device.createShaderModule({ label: kernel.name, code });
      p = this.device.createComputePipeline({
        label: kernel.name,
        layout: 'auto',
        compute: { module, entryPoint: 'main', constants },
      });
      this.pipelines.set(key, p);
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
    if (bytes.byteLength % 4 === 0) {
      this.device.queue.writeBuffer(buffer, offset, bytes);
    } else {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      this.device.queue.writeBuffer(buffer, offset, padded);
    }
  }

  private allocUniforms(kernel: KernelSpec, params: Record<string, number>): GPUBufferBinding {
    const size = Math.max(16, kernel.uniforms.length * 4);
    const bufferIndex = Math.floor(this.uniformUsed / UNIFORM_ARENA_BYTES);
    let offsetInBuffer = this.uniformUsed % UNIFORM_ARENA_BYTES;
    let index = bufferIndex;
    if (offsetInBuffer + size > UNIFORM_ARENA_BYTES) {
      index += 1;
      offsetInBuffer = 0;
    }
    while (this.uniformBuffers.length <= index) {
      this.uniformBuffers.push(
        this.device.createBuffer({ size: UNIFORM_ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'uniforms' }),
      );
      this.uniformStaging.push(new ArrayBuffer(UNIFORM_ARENA_BYTES));
    }
    const view = new DataView(this.uniformStaging[index], offsetInBuffer, size);
    kernel.uniforms.forEach((field, i) => {
      const [name, type] = field.split(':') as [string, UniformType];
      const value = params[name];
      if (value === undefined || Number.isNaN(value)) throw new Error(`${kernel.name}: uniform "${name}" is missing`);
      if (type === 'f32') view.setFloat32(i * 4, value, true);
      else if (type === 'i32') view.setInt32(i * 4, value, true);
      else view.setUint32(i * 4, value, true);
    });
    this.uniformUsed = index * UNIFORM_ARENA_BYTES + Math.ceil((offsetInBuffer + size) / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    return { buffer: this.uniformBuffers[index], offset: offsetInBuffer, size };
  }

  /** Records a dispatch into the given pass (or the context's own pending pass). */
  encode(pass: GPUComputePassEncoder, d: Dispatch): void {
    const pipeline = this.pipeline(d.kernel, d.constants);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: this.allocUniforms(d.kernel, d.params) }];
    d.bindings.forEach((b, i) => {
      const resource: GPUBufferBinding = 'buffer' in b ? b : { buffer: b };
      entries.push({ binding: i + 1, resource });
    });
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: d.kernel.name });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = d.workgroups;
    const maxDim = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxDim || y > maxDim || z > maxDim) throw new Error(`${d.kernel.name}: dispatch ${x}×${y}×${z} exceeds ${maxDim} per dimension`);
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
  }

  dispatch(d: Dispatch): void {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
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
      this.encoder = null;
    }
  }

  /** Flushes pending work and reads `size` bytes of `buffer` back to the CPU. */
  async read(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({ size: Math.ceil(size / 4) * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.commandEncoder().copyBufferToBuffer(buffer, offset, staging, 0, staging.size);
    this.flush();
    await staging.mapAsync(GPUMapMode.READ);
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
    this.pipelines.clear();
  }
}

/** Software adapters run on the CPU, where a different kernel shape is fast. */
export function isCpuAdapter(info: GPUAdapterInfo): boolean {
  return /swiftshader|llvmpipe|lavapipe|software|\bcpu\b/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
