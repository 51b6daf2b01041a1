// npm run bench [-- model …|paging …|storage …|kernel options]: the benchmarks, one command.
//   (none)   the q4/f32 mat-vec against a streaming-read roofline (bench-kernels.ts); --gemm: the prefill GEMM
//            against the old path and an FMA roofline (bench-gemm.ts); --experts: the decode expert MLP's two
//            dispatches at Scout's shapes (bench-experts.ts)
//   model    the whole model at any config: prefill, decode, roofline ratio, memory, paging (bench-model.ts)
//   record   the CPU time to record a decode step, per dispatch, against the binding's own floor (bench-record.ts)
//   load     load time and peak CPU memory of a model loaded from stored records, at any config (bench-load.ts)
//   paging   resident against paged experts on a small MoE (bench-paging.ts)
//   storage  IndexedDB against OPFS read throughput in Chromium (bench-storage.ts)
//   peers    TabScout against transformers.js on the same checkpoint, Chromium or --node (bench-peers.ts)
const args = process.argv.slice(2);
const fail = (e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
};
// drive Chromium or need the app's files: not bundled for the GPU machine (their paths are not literals)
const browserBenches: Record<string, string> = { storage: './bench-storage.ts', conversation: './bench-conversation.ts' };
if (args[0] === 'model') {
  await (await import('./bench-model.ts')).main(args.slice(1)).then(() => process.exit(0), fail);
} else if (args[0] === 'record') {
  await (await import('./bench-record.ts')).main(args.slice(1)).then(() => process.exit(0), fail);
} else if (args[0] === 'load') {
  await (await import('./bench-load.ts')).main(args.slice(1)).then(() => process.exit(0), fail);
} else if (args[0] === 'peers') {
  await (await import('./bench-peers.ts')).main(args.slice(1)).then(() => process.exit(0), fail);
} else if (args[0] === 'paging') {
  await import('./bench-paging.ts').then(() => process.exit(0), fail);
} else if (browserBenches[args[0]]) {
  await import(browserBenches[args[0]]);
  process.exit(0);
} else if (args.includes('--experts')) {
  await (await import('./bench-experts.ts')).main(args).then(() => process.exit(0), fail);
} else if (args.includes('--gemm')) {
  await (await import('./bench-gemm.ts')).main(args).then(() => process.exit(0), fail);
} else {
  await (await import('./bench-kernels.ts')).main(args).then(() => process.exit(0), fail);
}

export {};
