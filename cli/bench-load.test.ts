// The load bench in its quick form, through the CLI's exact contract: it writes a synthetic package, loads it in a
// fresh process through the store's record stream, and reports sane figures; a second run reuses the package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchJson } from '../testing/bench-cli.ts';

const bench = (args: string[]) => benchJson('load', args);

test('npm run bench -- load --quick writes a package, loads it from its records and reports memory and time', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-load-'));
  const dir = join(tmp, 'package');
  try {
    const r = bench(['--quick', '--dir', dir, '--keep']);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(r.layers, 4);
    assert.equal(r.records, manifest.records.length);
    assert.equal(readdirSync(join(dir, 'records')).length, r.records, 'one file per record');
    assert.equal(r.packageBytes, manifest.records.reduce((s: number, x: { bytes: number }) => s + x.bytes, 0));
    assert.ok(r.writeMs > 0 && r.loadMs > 0, `times ${r.writeMs}, ${r.loadMs}`);
    assert.ok(r.loadPhases.upload >= 0 && r.loadPhases.readBusy > 0 && r.loadPhases.hashBusy > 0, JSON.stringify(r.loadPhases));
    assert.ok(r.peakRssBytes >= r.rssBeforeBytes && r.rssBeforeBytes > 0, `rss ${r.rssBeforeBytes} → peak ${r.peakRssBytes}`);
    assert.ok(r.gpuBufferBytes >= r.packageBytes, `every weight is on the GPU: ${r.gpuBufferBytes} of ${r.packageBytes}`);
    assert.equal(r.forward.finite, true);
    const vocab = JSON.parse(manifest.files['config.json']).text_config.vocab_size;
    // the weights are random nibbles: any token of the vocabulary can win
    assert.ok(Number.isInteger(r.forward.argmax) && r.forward.argmax >= 0 && r.forward.argmax < vocab, `argmax ${r.forward.argmax} of ${vocab}`);
    const again = bench(['--quick', '--dir', dir]);
    assert.equal(again.writeMs, null, 'the package is reused');
    assert.equal(again.records, r.records);
    assert.equal(again.forward.argmax, r.forward.argmax, 'same weights, same forward');
    assert.throws(() => readFileSync(join(dir, 'manifest.json')), 'without --keep the package is removed');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
