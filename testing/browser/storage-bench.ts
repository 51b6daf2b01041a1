// The browser half of `npm run bench -- storage` (cli/bench-storage.ts), run as a dedicated worker: writes N
// records of one size to IndexedDB and to OPFS, then reads them all back twice (the second pass is what a warm
// cache gives) and posts MB/s per pass. OPFS is read through sync access handles (workers only) and through
// File.arrayBuffer() (any context).

export interface StorageBenchRequest {
  records: number;
  size: number;
}

export type StorageBenchResult =
  | { idb: number[]; opfs: { sync: number[]; file: number[] } }
  | { error: string };

const MiB = 1024 * 1024;
const PASSES = 2;

function pattern(size: number): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) data[i] = i & 255;
  return data;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** MB/s of each pass of `read` (which returns the bytes it read). */
async function timePasses(read: () => Promise<number>): Promise<number[]> {
  const passes: number[] = [];
  for (let p = 0; p < PASSES; p++) {
    const t0 = performance.now();
    const bytes = await read();
    passes.push(bytes / MiB / ((performance.now() - t0) / 1000));
  }
  return passes;
}

async function indexedDbPasses({ records, size }: StorageBenchRequest): Promise<number[]> {
  const open = indexedDB.open('bench', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('r');
  const db = await request(open);
  const data = pattern(size);
  for (let i = 0; i < records; i++) {
    const tx = db.transaction('r', 'readwrite');
    tx.objectStore('r').put(data.buffer.slice(0), i);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }
  const passes = await timePasses(async () => {
    let bytes = 0;
    for (let i = 0; i < records; i++) {
      const value = (await request(db.transaction('r').objectStore('r').get(i))) as ArrayBuffer;
      bytes += value.byteLength;
      void new Uint8Array(value)[size - 1]; // touch the last byte
    }
    return bytes;
  });
  db.close();
  await new Promise((resolve) => {
    const d = indexedDB.deleteDatabase('bench');
    d.onsuccess = d.onerror = resolve;
  });
  return passes;
}

async function opfsPasses({ records, size }: StorageBenchRequest): Promise<{ sync: number[]; file: number[] }> {
  const root = await navigator.storage.getDirectory();
  const data = pattern(size);
  for (let i = 0; i < records; i++) {
    const h = await (await root.getFileHandle(`r${i}`, { create: true })).createSyncAccessHandle();
    h.truncate(0);
    h.write(data, { at: 0 });
    h.flush();
    h.close();
  }
  const buf = new Uint8Array(size);
  const sync = await timePasses(async () => {
    let bytes = 0;
    for (let i = 0; i < records; i++) {
      const h = await (await root.getFileHandle(`r${i}`)).createSyncAccessHandle();
      bytes += h.read(buf, { at: 0 });
      h.close();
    }
    return bytes;
  });
  const file = await timePasses(async () => {
    let bytes = 0;
    for (let i = 0; i < records; i++) bytes += (await (await (await root.getFileHandle(`r${i}`)).getFile()).arrayBuffer()).byteLength;
    return bytes;
  });
  for (let i = 0; i < records; i++) await root.removeEntry(`r${i}`);
  return { sync, file };
}

onmessage = async (e: MessageEvent<StorageBenchRequest>) => {
  let result: StorageBenchResult;
  try {
    result = { idb: await indexedDbPasses(e.data), opfs: await opfsPasses(e.data) };
  } catch (err) {
    result = { error: String((err as Error)?.stack ?? err) };
  }
  postMessage(result);
};
