// Builds the app once (vite build into a temporary folder). e2e/run.mjs builds before the test files run and
// passes the folder in TABSCOUT_E2E_DIST; a test file run on its own builds for itself.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function buildApp(outDir: string): void {
  const vite = join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`vite build failed (exit ${result.status})`);
}

let built: string | null = null;

export function builtApp(): string {
  const given = process.env.TABSCOUT_E2E_DIST;
  if (given && existsSync(join(given, 'index.html'))) return given;
  if (!built) {
    const outDir = mkdtempSync(join(tmpdir(), 'tabscout-dist-'));
    buildApp(outDir);
    built = outDir;
  }
  return built;
}
