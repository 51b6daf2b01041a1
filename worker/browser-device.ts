// Finds the browser's WebGPU adapter and asks for a device with the adapter's own (higher) limits.
import { EngineError } from '../protocol/errors.ts';

/** Below these the kernels cannot run at all. */
const MIN_INVOCATIONS_PER_WORKGROUP = 256;
const MIN_WORKGROUP_STORAGE_BYTES = 16384;
const MIN_STORAGE_BUFFERS_PER_STAGE = 8;

const REQUESTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups' as GPUFeatureName, 'shader-f16'];

const NO_WEBGPU =
  'This browser does not offer WebGPU, which TabScout needs to run the model on your GPU. ' +
  'Use a recent Chrome or Edge (version 113 or later) on a computer with a supported GPU, ' +
  'or enable WebGPU in your browser settings (chrome://flags/#enable-unsafe-webgpu), then reload this page.';

/** The device and its adapter's info (not every browser has GPUDevice.adapterInfo yet). */
export async function browserDevice(): Promise<{ device: GPUDevice; info: GPUAdapterInfo }> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new EngineError('no-webgpu', NO_WEBGPU);

  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) {
    throw new EngineError(
      'no-webgpu',
      'WebGPU is present but no GPU adapter is available (it may be disabled or blocklisted). ' +
        'Update your graphics driver, check chrome://gpu, or enable WebGPU in your browser settings, then reload.',
    );
  }

  const { limits } = adapter;
  const tooSmall: string[] = [];
  if (limits.maxComputeInvocationsPerWorkgroup < MIN_INVOCATIONS_PER_WORKGROUP)
    tooSmall.push(`${limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup (need ${MIN_INVOCATIONS_PER_WORKGROUP})`);
  if (limits.maxComputeWorkgroupStorageSize < MIN_WORKGROUP_STORAGE_BYTES)
    tooSmall.push(`${limits.maxComputeWorkgroupStorageSize} bytes of workgroup storage (need ${MIN_WORKGROUP_STORAGE_BYTES})`);
  if (limits.maxStorageBuffersPerShaderStage < MIN_STORAGE_BUFFERS_PER_STAGE)
    tooSmall.push(`${limits.maxStorageBuffersPerShaderStage} storage buffers per shader stage (need ${MIN_STORAGE_BUFFERS_PER_STAGE})`);
  if (tooSmall.length > 0) {
    throw new EngineError(
      'gpu-limits',
      `Your GPU's WebGPU limits are too small to run the model: ${tooSmall.join('; ')}. ` +
        'Try another browser or computer with a more capable GPU.',
    );
  }

  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) requiredLimits[name] = limits[name];
  const requiredFeatures = OPTIONAL_FEATURES.filter((feature) => adapter.features.has(feature));

  try {
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    return { device, info: adapter.info };
  } catch (error) {
    throw new EngineError(
      'gpu-limits',
      `The GPU refused a WebGPU device with the limits TabScout needs (${(error as Error).message}). ` +
        'Close other GPU-heavy tabs and reload, or try another browser.',
    );
  }
}
