// npm run convert -- <hf-model-dir> <out-dir> [--weights q4|f32] [--id ID] [--name NAME] [--max-record-mib N] [--text-only]
// The command of convert.ts (apart from it, so that a bundle importing convertCheckpoint never runs it).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WeightFormat } from '../kernels/linear/weight-format.ts';
import { convertCheckpoint } from './convert.ts';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      weights: { type: 'string', default: 'q4' },
      id: { type: 'string' },
      name: { type: 'string' },
      'max-record-mib': { type: 'string' },
      'text-only': { type: 'boolean', default: false },
    },
  });
  const [modelDir, outDir] = positionals;
  if (!modelDir || !outDir) throw new Error('usage: npm run convert -- <hf-model-dir> <out-dir> [--weights q4|f32] [--id ID] [--name NAME] [--max-record-mib N] [--text-only]');
  const weights = values.weights as WeightFormat;
  if (weights !== 'q4' && weights !== 'f32') throw new Error(`--weights must be q4 or f32, got ${values.weights}`);
  const mib = values['max-record-mib'] !== undefined ? Number(values['max-record-mib']) : undefined;
  if (mib !== undefined && !(mib > 0)) throw new Error('--max-record-mib must be a positive number');
  await rm(join(outDir, 'manifest.json'), { force: true });
  const t0 = performance.now();
  const m = await convertCheckpoint(modelDir, outDir, {
    weights,
    id: values.id,
    name: values.name,
    maxRecordBytes: mib !== undefined ? Math.floor(mib * 1024 * 1024) : undefined,
    vision: !values['text-only'],
    log: process.stderr.isTTY ? (line) => process.stderr.write(`\r\x1b[K${line}`) : undefined,
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(`${m.id}: ${m.records.length} records, ${(m.totalBytes / 1e6).toFixed(1)} MB (${m.weights}) in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${join(outDir, 'manifest.json')}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
