// The kernels that touch a KV cache (attention, attention_decode, attention_decode_prep, qk_prep) are written
// against kv-f32.wgsl's interface and include it; kvFormatKernel gives their f16 form (kv-format.ts).
import type { KernelSpec } from '../runtime.ts';
import type { KvFormat } from './kv-format.ts';
import kvF32 from './kv-f32.wgsl';
import kvF16 from './kv-f16.wgsl';

/** The include of the f32 form, which cache kernels list among their includes. */
export const kvF32Include = kvF32;

const f16Variants = new WeakMap<KernelSpec, KernelSpec>();

/** `spec` (a cache kernel, kv-f32.wgsl among its includes) in the given form: f16 swaps the include and names it apart. */
export function kvFormatKernel(spec: KernelSpec, format: KvFormat | undefined): KernelSpec {
  if (format !== 'f16') return spec;
  let v = f16Variants.get(spec);
  if (!v) {
    if (!spec.includes?.includes(kvF32)) throw new Error(`${spec.name} does not read the KV cache through kv-f32.wgsl`);
    v = { ...spec, name: `${spec.name}_kvf16`, includes: spec.includes.map((s) => (s === kvF32 ? kvF16 : s)) };
    f16Variants.set(spec, v);
  }
  return v;
}
