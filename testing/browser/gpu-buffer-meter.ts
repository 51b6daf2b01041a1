// Peak bytes of GPU buffers alive on a device (createBuffer wrapped): the GPU memory a benchmark's engine used.
export class GpuBufferMeter {
  private live = 0;
  private peakBytes = 0;
  private sizes = new WeakMap<GPUBuffer, number>();

  /** Wraps createBuffer of one device, or of every device when given GPUDevice.prototype (before any is made). */
  install(target: { createBuffer(d: GPUBufferDescriptor): GPUBuffer }): void {
    const create = target.createBuffer;
    const meter = this;
    target.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
      const buffer = create.call(this, descriptor);
      meter.add(buffer, descriptor.size);
      return buffer;
    };
  }

  private add(buffer: GPUBuffer, size: number): void {
    this.sizes.set(buffer, size);
    this.live += size;
    this.peakBytes = Math.max(this.peakBytes, this.live);
    const destroy = buffer.destroy;
    buffer.destroy = () => {
      const s = this.sizes.get(buffer);
      if (s !== undefined) {
        this.live -= s;
        this.sizes.delete(buffer);
      }
      destroy.call(buffer);
    };
  }

  /** Starts a new peak from the bytes live now (buffers of an engine disposed before are gone). */
  reset(): void {
    this.peakBytes = this.live;
  }

  get peak(): number {
    return this.peakBytes;
  }
}
