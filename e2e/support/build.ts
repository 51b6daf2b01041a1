// Builds the app once (vite build into a temporary folder). e2e/run.mjs builds before the test files run and
// passes the folder in TABSCOUT_E2E_DIST; a test file run on its own builds for itself. Either way the build gets
// the random tiny-scout test model beside the app's own built-in model (see TEST_MODEL).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturesDir } from '../../testing/fixtures.ts';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function buildApp(outDir: string): void {
  const vite = join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`vite build failed (exit ${result.status})`);
}

/**
 * The page address (?model=…, data-model=…) of the random tiny-scout checkpoint, for journeys that compare greedy
 * tokens with its Hugging Face references (../shared/fixtures/tiny-scout/reference) or that need the fastest model
 * on SwiftShader. It is not part of the app (the built-in model is tabscout-tiny, lib/default-model.ts): the e2e
 * build gets a copy of ../shared/fixtures/tiny-scout/model at models/tiny-scout/ (not precached: online only).
 */
export const TEST_MODEL = './models/tiny-scout/';

/** Puts the tiny-scout fixture at <dist>/models/tiny-scout/ (see TEST_MODEL). */
function addTestModel(dist: string): string {
  const folder = join(dist, 'models', 'tiny-scout');
  if (!existsSync(join(folder, 'config.json'))) cpSync(join(fixturesDir(), 'tiny-scout', 'model'), folder, { recursive: true });
  return dist;
}

let built: string | null = null;

export function builtApp(): string {
  const given = process.env.TABSCOUT_E2E_DIST;
  if (given && existsSync(join(given, 'index.html'))) return addTestModel(given);
  if (!built) {
    const outDir = mkdtempSync(join(tmpdir(), 'tabscout-dist-'));
    buildApp(outDir);
    built = outDir;
  }
  return addTestModel(built);
}
