// Model parity through the verify command's exact contract, on every public fixture and both weight modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturesDir } from '../worker/testing/fixtures.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

for (const fixture of ['tiny-scout', 'tiny-maverick']) {
  for (const weights of ['f32', 'q4']) {
    test(`verify ${fixture} --weights ${weights} passes: |Δlogit| ≤ 1e-3, greedy tokens identical`, () => {
      const dir = join(fixturesDir(), fixture);
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--import', './tools/wgsl-hook.mjs', 'cli/verify.ts', '--model', join(dir, 'model'), '--reference', join(dir, 'reference'), '--weights', weights, '--json'],
        { cwd: root, encoding: 'utf8', timeout: 300_000 },
      );
      const lines = run.stdout.trim().split('\n');
      const report = JSON.parse(lines[lines.length - 1]);
      console.log(run.stdout.trim());
      assert.equal(report.weights, weights);
      const chat = report.cases.find((c: { name: string }) => c.name === 'chat');
      assert.equal(chat.template_match, true, 'chat template');
      assert.equal(chat.input_ids_match, true, 'tokenizer ids');
      assert.equal(chat.greedy_match, true, 'greedy decode through the KV cache');
      for (const c of report.cases.filter((c: { skipped?: string }) => !c.skipped)) {
        assert.ok(c.max_abs_diff <= 1e-3, `${c.name}: max |Δlogit| ${c.max_abs_diff}`);
        assert.ok(c.top1_agreement === 1, `${c.name}: top-1 agreement ${c.top1_agreement}`);
      }
      assert.equal(report.pass, true);
      assert.equal(run.status, 0, run.stderr);
    });
  }
}
