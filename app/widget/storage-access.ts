// Third-party iframes get storage partitioned by the top-level site, so each embedding site would download the model
// again. Where the browser offers the Storage Access API, the widget asks (after a click, as the API requires) for
// its unpartitioned storage; the handle's IndexedDB is what a weight store should use.
type StorageAccessHandle = { indexedDB?: IDBFactory; caches?: CacheStorage };
type DocumentWithAccess = Document & {
  hasStorageAccess?: () => Promise<boolean>;
  requestStorageAccess?: (types?: { all?: boolean; indexedDB?: boolean; caches?: boolean }) => Promise<StorageAccessHandle | undefined>;
};

export type StorageAccess = 'not-embedded' | 'unsupported' | 'granted' | 'prompt';

let handle: StorageAccessHandle | null = null;

/** The unpartitioned storage handle once granted (null: use the page's own storage). */
export function storageHandle(): StorageAccessHandle | null {
  return handle;
}

export async function storageAccessState(): Promise<StorageAccess> {
  if (window.parent === window) return 'not-embedded';
  const doc = document as DocumentWithAccess;
  if (!doc.hasStorageAccess || !doc.requestStorageAccess) return 'unsupported';
  try {
    return (await doc.hasStorageAccess()) ? 'granted' : 'prompt';
  } catch {
    return 'unsupported';
  }
}

/** Must run in a click handler. */
export async function requestStorageAccess(): Promise<boolean> {
  const doc = document as DocumentWithAccess;
  if (!doc.requestStorageAccess) return false;
  try {
    // Chromium's extended form gives an IndexedDB and Cache Storage handle; others grant cookies only.
    handle = (await doc.requestStorageAccess({ indexedDB: true, caches: true }).catch(() => doc.requestStorageAccess!())) ?? null;
    return true;
  } catch {
    return false;
  }
}
