// Command-line options of the benches: `--name value` pairs and flags, unknown options refused.
export interface Options {
  /** the value after `name`, or null when the option is absent */
  value(name: string): string | null;
  /** a whole number ≥ 0, or `fallback` when absent */
  int(name: string, fallback: number): number;
  has(name: string): boolean;
}

/**
 * --xq-planes 2|3 (an experiment, GpuContext.xqPlanes): the q4 mat-vecs' x in two byte planes (15-bit) or three (the
 * default); null when absent.
 */
export function xqPlanesOption(args: string[]): 2 | 3 | null {
  const i = args.indexOf('--xq-planes');
  if (i < 0) return null;
  const v = args[i + 1];
  if (v !== '2' && v !== '3') throw new Error(`--xq-planes takes 2 or 3, got ${v}`);
  return v === '2' ? 2 : 3;
}

export function parseOptions(args: string[], known: string[]): Options {
  const allowed = new Set(known);
  for (const a of args) if (a.startsWith('--') && !allowed.has(a)) throw new Error(`unknown option ${a}`);
  const value = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return null;
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
    return v;
  };
  return {
    value,
    int(name, fallback) {
      const v = value(name);
      if (v === null) return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got ${v}`);
      return n;
    },
    has: (name) => args.includes(name),
  };
}
