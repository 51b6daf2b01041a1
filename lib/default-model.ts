// The built-in model: shipped in public/models/ and copied to the root of every build. The app finds it relative
// to its page, the library relative to its own URL (dist/lib/tabscout.js → dist/models/…).
export const BUILT_IN_MODEL_PATH = 'models/tabscout-tiny/';

/** The built-in model's URL for code served from `root` (the build's root folder). */
export function builtInModelUrl(root: string | URL): string {
  return new URL(BUILT_IN_MODEL_PATH, root).href;
}
