// The KV cache's element form: f32, or f16 two to a u32 (kv-f16.wgsl: WGSL's pack2x16float, no shader-f16 feature),
// which halves the cache's memory and the bytes a long context's attention reads. The kernels' two forms are in
// kv-kernels.ts; this module has no WGSL, so memory planning and option checks can import it anywhere.
export type KvFormat = 'f32' | 'f16';
export const KV_FORMATS: readonly KvFormat[] = ['f32', 'f16'];

export function kvBytesPerElement(format: KvFormat): number {
  return format === 'f16' ? 2 : 4;
}
