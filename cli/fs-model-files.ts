// ModelFiles over a local folder (Node).
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelFiles } from '../worker/model/safetensors.ts';

export class FsModelFiles implements ModelFiles {
  readonly label: string;
  constructor(private dir: string) {
    this.label = dir;
  }
  async maybeText(name: string): Promise<string | null> {
    try {
      return await readFile(join(this.dir, name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }
  async text(name: string): Promise<string> {
    return readFile(join(this.dir, name), 'utf8');
  }
  async size(name: string): Promise<number> {
    return (await stat(join(this.dir, name))).size;
  }
  async range(name: string, begin: number, end: number): Promise<Uint8Array> {
    const f = await open(join(this.dir, name), 'r');
    try {
      const out = new Uint8Array(end - begin);
      const { bytesRead } = await f.read(out, 0, end - begin, begin);
      return out.subarray(0, bytesRead);
    } finally {
      await f.close();
    }
  }
}
