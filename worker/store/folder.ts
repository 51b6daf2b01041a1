// A model folder the user picked, as ModelFiles: the files of an <input webkitdirectory> (or dropped files), or a
// FileSystemDirectoryHandle from showDirectoryPicker(). Ranges are Blob slices: nothing is read whole.
import { EngineError } from '../../protocol/errors.ts';
import type { ModelFiles } from '../model/safetensors.ts';
import { checkpointSource, UNNAMED_FOLDER, type ImportSource } from './sources.ts';

export class FolderFiles implements ModelFiles {
  constructor(
    readonly label: string,
    private lookup: (name: string) => Promise<Blob | null>,
  ) {}

  /** Files of a picked folder; names are taken relative to the folder (webkitRelativePath without its first part). */
  static fromFiles(files: Iterable<File>, label?: string): FolderFiles {
    const map = new Map<string, Blob>();
    for (const f of files) {
      // the folder's own name (the first part of webkitRelativePath) names the model
      label ??= (f as File & { webkitRelativePath?: string }).webkitRelativePath?.split('/')[0] || undefined;
      const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath;
      map.set(rel ? rel.split('/').slice(1).join('/') : f.name, f);
    }
    return new FolderFiles(label ?? UNNAMED_FOLDER, async (name) => map.get(name) ?? null);
  }

  static fromDirectoryHandle(dir: FileSystemDirectoryHandle): FolderFiles {
    return new FolderFiles(dir.name, async (name) => {
      try {
        let d = dir;
        const parts = name.split('/');
        for (const p of parts.slice(0, -1)) d = await d.getDirectoryHandle(p);
        return await (await d.getFileHandle(parts[parts.length - 1])).getFile();
      } catch (e) {
        if ((e as DOMException).name === 'NotFoundError' || (e as DOMException).name === 'TypeMismatchError') return null;
        throw e;
      }
    });
  }

  private async blob(name: string): Promise<Blob> {
    const b = await this.lookup(name);
    if (!b) throw new EngineError('bad-model', `${name} is missing in ${this.label}`);
    return b;
  }

  async maybeText(name: string): Promise<string | null> {
    const b = await this.lookup(name);
    return b ? b.text() : null;
  }

  async text(name: string): Promise<string> {
    return (await this.blob(name)).text();
  }

  async size(name: string): Promise<number> {
    return (await this.blob(name)).size;
  }

  async range(name: string, begin: number, end: number): Promise<Uint8Array> {
    return new Uint8Array(await (await this.blob(name)).slice(begin, end).arrayBuffer());
  }
}

/** A local folder with a Hugging Face checkpoint. */
export function folderSource(files: FolderFiles, options: { maxRangeBytes?: number } = {}): ImportSource {
  return checkpointSource(files, { kind: 'folder', location: files.label, revision: null }, options);
}
