// Where a model load's time goes (benchmarks: the peers bench reports it as engines[].loadPhases).
// Phases are the load's own sequential steps, summed over every call (e.g. `upload` once per tensor), so with
// `other` (what no phase covers) they add up to the load's wall time. Busy times (`readBusy`, `hashBusy`) are work
// done off the main thread while the phases run (records read and checked ahead): the wall time during which at
// least one such call was in flight; they overlap the phases and are not part of the sum.

export class LoadTimings {
  /** milliseconds per phase, in the order phases first ran */
  readonly ms: Record<string, number> = {};
  readonly busyMs: Record<string, number> = {};
  private active = new Map<string, { count: number; since: number }>();

  add(phase: string, ms: number): void {
    this.ms[phase] = (this.ms[phase] ?? 0) + ms;
  }

  async time<T>(phase: string, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.add(phase, performance.now() - t0);
    }
  }

  timeSync<T>(phase: string, f: () => T): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      this.add(phase, performance.now() - t0);
    }
  }

  /** Times work that may overlap the phases and itself (`${name}Busy`: the time any call of it was in flight). */
  async busy<T>(name: string, f: () => Promise<T>): Promise<T> {
    const a = this.active.get(name) ?? { count: 0, since: 0 };
    if (a.count++ === 0) a.since = performance.now();
    this.active.set(name, a);
    try {
      return await f();
    } finally {
      if (--a.count === 0) this.busyMs[name] = (this.busyMs[name] ?? 0) + performance.now() - a.since;
    }
  }

  /** The phases rounded to 0.1 ms, `other` (`totalMs` less their sum), then the busy times. */
  report(totalMs: number): Record<string, number> {
    const r = (x: number) => Math.round(x * 10) / 10;
    const out: Record<string, number> = {};
    let sum = 0;
    for (const [k, v] of Object.entries(this.ms)) {
      out[k] = r(v);
      sum += v;
    }
    out.other = r(totalMs - sum);
    for (const [k, v] of Object.entries(this.busyMs)) out[`${k}Busy`] = r(v);
    return out;
  }
}

/** Runs `f` timed under `phase` when timings are kept; plainly otherwise. */
export const timed = <T>(t: LoadTimings | undefined, phase: string, f: () => Promise<T>): Promise<T> => (t ? t.time(phase, f) : f());
export const timedSync = <T>(t: LoadTimings | undefined, phase: string, f: () => T): T => (t ? t.timeSync(phase, f) : f());
export const timedBusy = <T>(t: LoadTimings | undefined, name: string, f: () => Promise<T>): Promise<T> => (t ? t.busy(name, f) : f());
