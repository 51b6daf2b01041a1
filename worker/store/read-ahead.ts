// Reads records ahead of their use while loading: a record's read and SHA-256 check (file or network I/O and
// hashing, both off the main thread) overlap the GPU upload of the records before it, each other (up to
// `concurrency` at once), and whatever the caller does before it asks for the first record (e.g. start the GPU).
// Records are started in the order given (the order storeTensors asks for them) while the bytes read or being read
// but not yet taken stay within `windowBytes`; a record larger than the window is started only when nothing else is
// ahead.
import type { RecordEntry } from './format.ts';
import type { ReadRecord } from './reader.ts';

export const READ_AHEAD_BYTES = 64 * 1024 * 1024;
export const READ_AHEAD_CONCURRENCY = 2;

export interface ReadAhead {
  read: ReadRecord;
  /** starts reading the first records now, before any is asked for */
  start(): void;
}

export function readAhead(order: RecordEntry[], read: ReadRecord, windowBytes = READ_AHEAD_BYTES, concurrency = READ_AHEAD_CONCURRENCY): ReadAhead {
  const index = new Map(order.map((r, i) => [r.key, i]));
  const pending = new Map<number, Promise<Uint8Array>>();
  let next = 0;
  let aheadBytes = 0;
  let active = 0;
  const fill = () => {
    while (next < order.length && active < concurrency) {
      const r = order[next];
      if (pending.size > 0 && aheadBytes + r.bytes > windowBytes) return;
      active++;
      const p = read(r).finally(() => {
        active--;
        fill();
      });
      p.catch(() => {}); // a record read ahead but never taken (the load failed before it) must not go unhandled
      pending.set(next++, p);
      aheadBytes += r.bytes;
    }
  };
  return {
    start: fill,
    read(entry) {
      const i = index.get(entry.key);
      if (i === undefined || order[i] !== entry) return read(entry);
      let p = pending.get(i);
      if (p) {
        pending.delete(i);
        aheadBytes -= entry.bytes;
      } else {
        p = read(entry); // asked for out of order, or before its turn: read now
        if (i >= next) next = i + 1;
      }
      fill();
      return p;
    },
  };
}
