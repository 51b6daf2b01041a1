// Command-line options of the benches: `--name value` pairs and flags, unknown options refused.
export interface Options {
  /** the value after `name`, or null when the option is absent */
  value(name: string): string | null;
  /** a whole number ≥ 0, or `fallback` when absent */
  int(name: string, fallback: number): number;
  has(name: string): boolean;
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
