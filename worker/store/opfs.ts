// Weight records in the Origin Private File System: one file per record under tabscout-records/<model>/, each
// `u32 metadata length | metadata JSON | payload`. In a worker (where the engine and its store live) reads and
// writes go through sync access handles, which read 64 MiB records about ten times faster than IndexedDB in
// Chromium (docs/PERFORMANCE.md, `npm run bench -- storage`); elsewhere through File and writable streams.
// A record is written under a temporary name and then renamed, so a crash never leaves a half-written record
// under its real name. The index (manifests, commit entries) stays in IndexedDB.
import type { RecordBackend, StoredRecord } from './backend.ts';

type Meta = Omit<StoredRecord, 'data'>;

interface SyncHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

type FileHandle = FileSystemFileHandle & { createSyncAccessHandle?: () => Promise<SyncHandle>; move?: (name: string) => Promise<void> };

const TMP = '.partial';

export function opfsAvailable(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function';
}

export class OpfsRecords implements RecordBackend {
  /** sync access handles are exclusive per file: one operation at a time keeps them from colliding */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private rootName = 'tabscout-records') {}

  private run<T>(f: () => Promise<T>): Promise<T> {
    const next = this.queue.then(f, f);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async root(): Promise<FileSystemDirectoryHandle> {
    return (await navigator.storage.getDirectory()).getDirectoryHandle(this.rootName, { create: true });
  }

  private async modelDir(model: string, create: boolean): Promise<FileSystemDirectoryHandle | null> {
    try {
      return await (await this.root()).getDirectoryHandle(encodeURIComponent(model), { create });
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError') return null;
      throw e;
    }
  }

  put(record: StoredRecord): Promise<void> {
    return this.run(async () => {
      const dir = (await this.modelDir(record.model, true))!;
      const name = encodeURIComponent(record.key);
      const { data, ...meta } = record;
      const metaBytes = new TextEncoder().encode(JSON.stringify(meta));
      const head = new Uint8Array(4 + metaBytes.length);
      new DataView(head.buffer).setUint32(0, metaBytes.length, true);
      head.set(metaBytes, 4);
      const tmp = (await dir.getFileHandle(name + TMP, { create: true })) as FileHandle;
      if (tmp.createSyncAccessHandle) {
        const h = await tmp.createSyncAccessHandle();
        try {
          h.truncate(0);
          h.write(head, { at: 0 });
          h.write(new Uint8Array(data), { at: head.length });
          h.flush();
        } finally {
          h.close();
        }
      } else {
        const w = await tmp.createWritable();
        await w.write(head);
        await w.write(data);
        await w.close();
      }
      if (tmp.move) {
        await dir.removeEntry(name).catch(() => undefined);
        await tmp.move(name);
      } else {
        // no rename: copy under the real name (a crash in between leaves the .partial file, swept later)
        const bytes = new Uint8Array(await (await tmp.getFile()).arrayBuffer());
        const real = await dir.getFileHandle(name, { create: true });
        const w = await real.createWritable();
        await w.write(bytes);
        await w.close();
        await dir.removeEntry(name + TMP);
      }
    });
  }

  get(model: string, key: string): Promise<StoredRecord | undefined> {
    return this.run(async () => {
      const dir = await this.modelDir(model, false);
      if (!dir) return undefined;
      let handle: FileHandle;
      try {
        handle = (await dir.getFileHandle(encodeURIComponent(key))) as FileHandle;
      } catch (e) {
        if ((e as DOMException).name === 'NotFoundError') return undefined;
        throw e;
      }
      let bytes: Uint8Array;
      if (handle.createSyncAccessHandle) {
        const h = await handle.createSyncAccessHandle();
        try {
          bytes = new Uint8Array(h.getSize());
          h.read(bytes, { at: 0 });
        } finally {
          h.close();
        }
      } else {
        bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
      }
      if (bytes.byteLength < 4) return undefined;
      const metaLength = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
      const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + metaLength))) as Meta;
      const start = 4 + metaLength;
      return { ...meta, data: bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.byteLength) as ArrayBuffer };
    });
  }

  keys(model: string): Promise<string[]> {
    return this.run(async () => {
      const dir = await this.modelDir(model, false);
      if (!dir) return [];
      const out: string[] = [];
      for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) if (!name.endsWith(TMP)) out.push(decodeURIComponent(name));
      return out;
    });
  }

  models(): Promise<string[]> {
    return this.run(async () => {
      const out: string[] = [];
      for await (const name of ((await this.root()) as unknown as { keys(): AsyncIterable<string> }).keys()) out.push(decodeURIComponent(name));
      return out;
    });
  }

  deleteModel(model: string): Promise<void> {
    return this.run(async () => {
      await (await this.root()).removeEntry(encodeURIComponent(model), { recursive: true }).catch((e: DOMException) => {
        if (e.name !== 'NotFoundError') throw e;
      });
    });
  }
}
