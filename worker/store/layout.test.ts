// The store's record layout against the engine's contract (engineTensors), and records made from a checkpoint by
// range (what a Hub or folder import does) against records made by the converter from engineTensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { convertCheckpoint } from '../../cli/convert.ts';
import { parseConfig } from '../model/config.ts';
import { engineTensors } from '../model/engine-tensors.ts';
import { memoryPlan } from '../model/memory-plan.ts';
import { readCheckpointIndex, type ModelFiles } from '../model/safetensors.ts';
import { fixturesDir, removeDir } from '../../testing/fixtures.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { CheckpointRecords } from './checkpoint-records.ts';
import { MAX_RECORD_BYTES, segmentRows, sha256Hex } from './format.ts';
import { checkpointHasLmHead, planRecords, tensorLayout, visionFile } from './layout.ts';

const FIXTURES = ['tiny-scout', 'tiny-maverick'];
const MODES = ['q4', 'f32'] as const;

function modelDir(fixture: string): string {
  return join(fixturesDir(), fixture, 'model');
}

/** ModelFiles that records the length of every range read. */
class CountingFiles extends FsModelFiles {
  longest = 0;
  override async range(name: string, begin: number, end: number): Promise<Uint8Array> {
    this.longest = Math.max(this.longest, end - begin);
    return super.range(name, begin, end);
  }
}

for (const fixture of FIXTURES) {
  for (const mode of MODES) {
    test(`${fixture} ${mode}: the store layout lists engineTensors' tensors in order, with their parts, formats and shapes`, async () => {
      const files = new FsModelFiles(modelDir(fixture));
      const config = parseConfig(JSON.parse(await files.text('config.json')));
      const layout = tensorLayout(config, mode, checkpointHasLmHead(config, await readCheckpointIndex(files)));
      let i = 0;
      for await (const t of engineTensors(files, config, mode)) {
        const l = layout[i++];
        assert.equal(l.key, t.key);
        assert.equal(l.kind, t.kind, t.key);
        assert.equal(l.layer, t.layer, t.key);
        assert.equal(l.expert, t.expert, t.key);
        assert.deepEqual(
          l.parts.map((p) => [p.part, p.format, p.rows, p.cols]),
          t.parts.map((p) => [p.part, p.format, p.rows, p.cols]),
          t.key,
        );
      }
      assert.equal(i, layout.length);
      const planned = planRecords(layout, MAX_RECORD_BYTES);
      assert.equal(planned.reduce((s, r) => s + r.bytes, 0), memoryPlan(config, mode).text.bytes, 'record bytes = the memory plan from the config alone');
    });

    test(`${fixture} ${mode}: records made by range from the checkpoint (small records, small reads) equal the converter's`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'tabscout-layout-'));
      try {
        const maxRecordBytes = 6000;
        const manifest = await convertCheckpoint(modelDir(fixture), out, { weights: mode, maxRecordBytes });
        assert.ok(manifest.records.some((r) => r.key.includes('@')), 'some tensors are split');
        const files = new CountingFiles(modelDir(fixture));
        const config = parseConfig(JSON.parse(await files.text('config.json')));
        const index = await readCheckpointIndex(files);
        const vision = visionFile(config, index);
        assert.ok(vision, 'the fixtures have a vision tower');
        const planned = planRecords(tensorLayout(config, mode, checkpointHasLmHead(config, index)), maxRecordBytes, vision);
        assert.ok(planned.filter((r) => r.chunk).length > 1, 'the vision file is cut into chunks');
        assert.deepEqual(
          planned.map((r) => [r.key, r.bytes, r.parts]),
          manifest.records.map((r) => [r.key, r.bytes, r.parts]),
        );
        files.longest = 0;
        const maxRangeBytes = 1000;
        const maker = new CheckpointRecords(files as ModelFiles, index, maxRangeBytes, vision);
        for (const r of planned) {
          const payload = await maker.payload(r);
          const file = readFileSync(join(out, `records/${r.key}.bin`));
          assert.equal(await sha256Hex(payload), manifest.records.find((m) => m.key === r.key)!.sha256, r.key);
          assert.equal(file.byteLength, 512 + r.bytes);
        }
        // a read never exceeds maxRangeBytes unless one checkpoint row (bf16) alone does
        const widest = Math.max(...planned.flatMap((r) => (r.tensor?.parts ?? []).map((p) => (p.source.kind === 'expert' ? p.rows : p.cols) * 2)));
        assert.ok(files.longest <= Math.max(maxRangeBytes, widest), `longest read ${files.longest} B`);
      } finally {
        removeDir(out);
      }
    });
  }
}

test('segments: q4 segments start on an even block and fit the record size; f32 segments fit', () => {
  for (const [format, rows, cols, max] of [
    ['q4', 1088, 64, 6000],
    ['q4', 100, 96, 1000], // 3 blocks a row: segments must hold an even number of rows
    ['q4', 202048, 5120, MAX_RECORD_BYTES],
    ['f32', 1088, 64, 6000],
  ] as const) {
    const segs = segmentRows(format, rows, cols, max);
    assert.equal(segs[0][0], 0);
    assert.equal(segs[segs.length - 1][1], rows);
    const nb = cols / 32;
    segs.forEach(([a, b], i) => {
      if (i > 0) assert.equal(a, segs[i - 1][1]);
      const bytes = format === 'q4' ? (b - a) * nb * 16 + Math.ceil(((b - a) * nb) / 2) * 4 : (b - a) * cols * 4;
      assert.ok(bytes <= max, `${format} [${a}, ${b}) is ${bytes} B`);
      if (format === 'q4') assert.equal((a * nb) % 2, 0, `segment at row ${a} starts on an odd block`);
    });
  }
});

test('Scout and Maverick (real configs): records of at most 128 MiB, one 67.5 MiB record per (layer, expert), embedding and lm_head split', () => {
  const dir = join(fixturesDir(), 'configs');
  for (const [file, experts] of [
    ['Llama-4-Scout-17B-16E-Instruct.config.json', 48 * 16],
    ['Llama-4-Maverick-17B-128E-Instruct.config.json', 24 * 128],
  ] as const) {
    const config = parseConfig(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    const planned = planRecords(tensorLayout(config, 'q4'), MAX_RECORD_BYTES);
    const expertRecords = planned.filter((r) => r.parts[0].kind === 'expert');
    assert.equal(expertRecords.length, experts, file);
    assert.ok(expertRecords.every((r) => r.bytes === 70_778_880), `${file}: an expert record is 70,778,880 B`);
    assert.ok(planned.every((r) => r.bytes <= MAX_RECORD_BYTES), file);
    assert.equal(planned.filter((r) => r.key.startsWith('embed_tokens@')).length, 5, file);
    assert.equal(planned.reduce((s, r) => s + r.bytes, 0), memoryPlan(config, 'q4').text.bytes, file);
  }
});
