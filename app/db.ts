// The app's own IndexedDB database (settings, conversations, their images), apart from the engine's weight store.
import { createStore, del, delMany, get, getMany, set, setMany, type UseStore } from 'idb-keyval';

let store: UseStore | null = null;

export function appStore(): UseStore {
  store ??= createStore('tabscout-app', 'keyval');
  return store;
}

export { del, delMany, get, getMany, set, setMany };
