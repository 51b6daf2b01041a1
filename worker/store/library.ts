// What the engine host exposes of the store: the import request (protocol/api.ts ImportRequest) turned into a
// source, and the store operations the model manager needs.
import { FolderFiles, folderSource } from './folder.ts';
import type { HttpOptions } from './http.ts';
import { importModel, type ImportOptions, type ImportResult } from './import.ts';
import { hubSource, packageUrlSource, urlSource, type ImportSource } from './sources.ts';
import type { WeightStore } from './store.ts';
import type { ImportRequest, StoredModelInfo, StoreSpace } from '../../protocol/api.ts';

export function sourceFor(request: ImportRequest, http: HttpOptions = {}): ImportSource {
  switch (request.kind) {
    case 'hub':
      return hubSource(request.repo, { revision: request.revision, token: request.token, endpoint: request.endpoint, http });
    case 'url':
      return urlSource(request.url, { token: request.token, http });
    case 'package':
      return packageUrlSource(request.url, { http });
    case 'folder':
      return folderSource(Array.isArray(request.files) ? FolderFiles.fromFiles(request.files) : FolderFiles.fromDirectoryHandle(request.files));
  }
}

/** The store operations of a model manager, over one WeightStore. */
export class ModelLibrary {
  constructor(readonly store: WeightStore) {}

  list(): Promise<StoredModelInfo[]> {
    return this.store.list();
  }

  space(): Promise<StoreSpace | null> {
    return this.store.space();
  }

  delete(id: string): Promise<void> {
    return this.store.delete(id);
  }

  /** Imports (or resumes importing) a model; the request's weights mode applies to checkpoints. */
  import(request: ImportRequest, options: Omit<ImportOptions, 'weights' | 'vision'> = {}): Promise<ImportResult> {
    const checkpoint = request.kind === 'package' ? {} : { weights: request.weights, vision: request.vision };
    return importModel(this.store, sourceFor(request, { signal: options.signal }), { ...options, ...checkpoint });
  }
}
