// Model parity through the verify command's exact contract, on every public fixture and both weight modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturesDir } from '../testing/fixtures.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

function verify(args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './tools/wgsl-hook.mjs', 'cli/verify.ts', ...args, '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const lines = run.stdout.trim().split('\n');
  console.log(run.stdout.trim());
  return { run, report: JSON.parse(lines[lines.length - 1]) };
}

for (const fixture of ['tiny-scout', 'tiny-maverick']) {
  for (const weights of ['f32', 'q4']) {
    test(`verify ${fixture} --weights ${weights} passes: |Δlogit| ≤ 1e-3 and greedy tokens identical on every case, images through the vision tower`, () => {
      const dir = join(fixturesDir(), fixture);
      const { run, report } = verify(['--model', join(dir, 'model'), '--reference', join(dir, 'reference'), '--weights', weights]);
      assert.equal(report.weights, weights);
      const chat = report.cases.find((c: { name: string }) => c.name === 'chat');
      assert.equal(chat.template_match, true, 'chat template');
      assert.equal(chat.input_ids_match, true, 'tokenizer ids');
      assert.equal(chat.greedy_match, true, 'greedy decode through the KV cache');
      const images = report.cases.filter((c: { name: string }) => c.name.startsWith('image_'));
      assert.equal(images.length, 3);
      for (const c of images) {
        assert.equal(c.input_ids_match, true, `${c.name} prompt layout`);
        assert.equal(c.pixel_values_max_abs_diff, 0, `${c.name} pixel_values`);
        assert.equal(c.skipped, undefined, `${c.name} is not skipped`);
      }
      const wide = images.find((c: { name: string }) => c.name === 'image_wide');
      assert.ok(wide.max_abs_diff !== null && wide.max_abs_diff <= 1e-3, `image_wide logits: max |Δ| ${wide.max_abs_diff}`);
      assert.equal(wide.greedy_match, true, 'image_wide greedy decode');
      if (weights === 'f32') {
        // the references hold the vision tower's features of the float32 model only
        assert.ok(wide.vision_features_max_abs_diff <= 1e-3, `vision_features max |Δ| ${wide.vision_features_max_abs_diff}`);
        assert.ok(wide.projected_features_max_abs_diff <= 1e-3, `projected_features max |Δ| ${wide.projected_features_max_abs_diff}`);
      }
      for (const c of report.cases.filter((c: { max_abs_diff: number | null }) => c.max_abs_diff !== null)) {
        assert.ok(c.max_abs_diff <= 1e-3, `${c.name}: max |Δlogit| ${c.max_abs_diff}`);
        assert.ok(c.top1_agreement === 1, `${c.name}: top-1 agreement ${c.top1_agreement}`);
      }
      assert.equal(report.pass, true);
      assert.equal(run.status, 0, run.stderr);
    });
  }
}

// the trained default model (public/models/tabscout-tiny) against its own Hugging Face references
for (const weights of ['f32', 'q4']) {
  test(`verify tabscout-tiny --weights ${weights} passes: |Δlogit| ≤ 1e-3, greedy tokens identical, chat and screenshot`, () => {
    const { run, report } = verify(['--model', join(root, 'public', 'models', 'tabscout-tiny'), '--reference', join(root, 'fixtures', 'tabscout-tiny', 'reference'), '--weights', weights]);
    for (const name of ['chat', 'image']) {
      const c = report.cases.find((x: { name: string }) => x.name === name);
      assert.equal(c.template_match, true, `${name} chat template`);
      assert.equal(c.input_ids_match, true, `${name} prompt ids`);
      assert.ok(c.max_abs_diff <= 1e-3, `${name}: max |Δlogit| ${c.max_abs_diff}`);
      assert.equal(c.top1_agreement, 1, `${name} top-1 agreement`);
      assert.equal(c.greedy_match, true, `${name} greedy decode`);
    }
    assert.equal(report.pass, true);
    assert.equal(run.status, 0, run.stderr);
  });
}
