// Helpers for kernel tests in Node: one GPU context per test file, seeded random data, closeness checks that
// print the failing case.
import assert from 'node:assert/strict';
import { createNodeGpu } from '../cli/node-gpu.ts';
import type { GpuContext } from '../kernels/runtime.ts';

let ctxPromise: Promise<GpuContext> | null = null;

/** The test GPU; throws (never skips) when there is no adapter. */
export function testGpu(): Promise<GpuContext> {
  ctxPromise ??= createNodeGpu().then((g) => g.ctx);
  return ctxPromise;
}

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${what}: max |Δ| = ${d} > ${tol}`);
}

/**
 * The test GPU twice: with the CPU-adapter kernel variants (what SwiftShader runs by default) and with the GPU
 * variants (what real GPUs run), so both are checked against the references here.
 */
export async function kernelVariants(): Promise<[string, GpuContext][]> {
  const ctx = await testGpu();
  const { GpuContext: Ctx } = await import('../kernels/runtime.ts');
  return [
    ['cpu variant', new Ctx(ctx.device, { cpuKernels: true })],
    ['gpu variant', new Ctx(ctx.device, { cpuKernels: false })],
    ['gpu variant, integer dot', new Ctx(ctx.device, { cpuKernels: false, integerDot: true })],
  ];
}
