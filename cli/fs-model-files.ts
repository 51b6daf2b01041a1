// ModelFiles over a local folder (Node).
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../protocol/errors.ts';
import type { ModelFiles } from '../worker/model/safetensors.ts';

export class FsModelFiles implements ModelFiles {
  readonly label: string;
  /**
   * `readChunkBytes`: the largest single read. A range is read in pieces: one read(2) returns at most ~2 GiB on
   * Linux, and Node refuses a larger length (a Scout-width embedding is 2.07 GB in bfloat16, 4.1 GB in f32).
   */
  constructor(private dir: string, private readChunkBytes = 256 * 1024 * 1024) {
    this.label = dir;
  }

  private async io<T>(name: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new EngineError('bad-model', `${name} is missing in ${this.dir}`);
      throw e;
    }
  }

  async maybeText(name: string): Promise<string | null> {
    try {
      return await readFile(join(this.dir, name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  text(name: string): Promise<string> {
    return this.io(name, () => readFile(join(this.dir, name), 'utf8'));
  }

  size(name: string): Promise<number> {
    return this.io(name, async () => (await stat(join(this.dir, name))).size);
  }

  range(name: string, begin: number, end: number): Promise<Uint8Array> {
    return this.io(name, async () => {
      const f = await open(join(this.dir, name), 'r');
      try {
        const out = new Uint8Array(end - begin);
        let done = 0;
        while (done < out.byteLength) {
          const { bytesRead } = await f.read(out, done, Math.min(this.readChunkBytes, out.byteLength - done), begin + done);
          if (bytesRead === 0) break; // the end of the file: a short range, which the caller reports
          done += bytesRead;
        }
        return out.subarray(0, done);
      } finally {
        await f.close();
      }
    });
  }
}
