// Where the shared Hugging Face fixtures live: $TABSCOUT_FIXTURES, else <repo>/../shared/fixtures.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function fixturesDir(): string {
  const env = process.env.TABSCOUT_FIXTURES;
  return env ? resolve(env) : fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
}
