// WebGPU in Node through the `webgpu` package (Dawn). On a machine without a GPU it finds Debian chromium's
// SwiftShader Vulkan driver by itself, so tests and `npm run verify` need no environment variables.
import { existsSync } from 'node:fs';
import { GpuContext, hasIntegerDot, isCpuAdapter } from '../kernels/runtime.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
let gpuModule: unknown; // the `webgpu` instance must live as long as the process

export interface NodeGpu {
  ctx: GpuContext;
  adapterName: string;
  /** the `webgpu` instance the device came from (hold it to keep that Dawn instance, and its driver, loaded) */
  instance: unknown;
}

/** `dawnFlags`: e.g. 'disable-dawn-features=timestamp_quantization' for benchmarks that time with GPU timestamps. */
export async function createNodeGpu(dawnFlags: string[] = []): Promise<NodeGpu> {
  const driverChosen = process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES;
  if (!driverChosen && existsSync(SWIFTSHADER_ICD) && !existsSync('/dev/nvidia0')) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create(dawnFlags);
  gpuModule = gpu;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      'No WebGPU adapter found. On Debian install the Vulkan loader and SwiftShader: ' +
        '`apt-get install -y chromium libvulkan1` (see README), or set VK_ICD_FILENAMES to a Vulkan driver.',
    );
  }
  const device = await requestDeviceWithLimits(adapter);
  const info = adapter.info;
  return { ctx: new GpuContext(device, { cpuKernels: cpuKernelsFor(info), integerDot: hasIntegerDot(gpu) }), adapterName: `${info.vendor} / ${info.architecture || info.device || info.description}`, instance: gpu };
}

/**
 * The kernel variants to run: the CPU-friendly ones on a CPU adapter (SwiftShader), the GPU ones elsewhere, as the
 * app decides; `TABSCOUT_KERNELS=gpu|cpu` forces one (e.g. `npm run verify` of the GPU kernels on SwiftShader).
 */
export function cpuKernelsFor(info: GPUAdapterInfo, forced = process.env.TABSCOUT_KERNELS): boolean {
  if (forced === 'gpu') return false;
  if (forced === 'cpu') return true;
  if (forced) throw new Error(`TABSCOUT_KERNELS=${forced}: expected gpu or cpu`);
  return isCpuAdapter(info);
}

/** Asks for the adapter's own limits (the defaults are lower) and the optional features we use. */
export async function requestDeviceWithLimits(adapter: GPUAdapter): Promise<GPUDevice> {
  const wanted: GPUFeatureName[] = ['timestamp-query', 'subgroups', 'shader-f16'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
  };
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  device.addEventListener('uncapturederror', (e) => {
    console.error('WebGPU error:', (e as GPUUncapturedErrorEvent).error.message);
    process.exitCode = 1; // a validation error must fail the test or command that caused it
  });
  return device;
}

export function keepAlive(): unknown {
  return gpuModule;
}

/** Lets the GPU finish and releases the device; call before process.exit (Dawn could crash at exit, status 139, otherwise). */
export async function releaseNodeGpu(ctx: GpuContext): Promise<void> {
  await ctx.device.queue.onSubmittedWorkDone();
  ctx.device.destroy();
}
