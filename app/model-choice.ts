// Which model the app loads: the built-in one, a model folder on the web (by URL), or a model installed in this
// browser. The last one that loaded is remembered (never one that failed) and loaded at start-up.
import type { WeightFormat } from '../protocol/api.ts';
import { appStore, del, get, set } from './db.ts';

export type ModelChoice =
  | { kind: 'builtin' }
  | { kind: 'url'; url: string; weights: WeightFormat }
  | { kind: 'stored'; id: string; name: string; source: string };

const LAST_MODEL_KEY = 'lastModel';

export async function loadLastModel(): Promise<ModelChoice | null> {
  try {
    const saved = await get<ModelChoice>(LAST_MODEL_KEY, appStore());
    if (saved?.kind === 'url' && typeof saved.url === 'string') return { kind: 'url', url: saved.url, weights: saved.weights === 'f32' ? 'f32' : 'q4' };
    if (saved?.kind === 'stored' && typeof saved.id === 'string') return { kind: 'stored', id: saved.id, name: String(saved.name ?? saved.id), source: String(saved.source ?? '') };
    return null;
  } catch (error) {
    console.warn('Could not read which model was loaded last; starting with the built-in model.', error);
    return null;
  }
}

/** Remembers a model that loaded; the built-in model is the default and is stored as "nothing". */
export async function saveLastModel(choice: ModelChoice): Promise<void> {
  if (choice.kind === 'builtin') await del(LAST_MODEL_KEY, appStore());
  else await set(LAST_MODEL_KEY, choice, appStore());
}

/**
 * Checks what the user typed as a model folder's address before anything is unloaded: an http(s) URL, or a path on
 * this site that starts with "/", "./" or "../". Returns the absolute folder URL (ending in "/") or why it is not one.
 */
export function checkModelUrl(input: string, pageUrl: string): { url: string } | { error: string } {
  const text = input.trim();
  const advice = 'Give the model folder as https://host/path/ or as a path on this site starting with / or ./';
  if (!text) return { error: `Enter the address of a model folder. ${advice}.` };
  if (/\s/.test(text)) return { error: `"${text}" is not a web address (it contains spaces). ${advice}.` };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  let url: URL;
  if (scheme) {
    if (scheme !== 'http' && scheme !== 'https') return { error: `"${text}" is not an http(s) address. ${advice}.` };
    try {
      url = new URL(text);
    } catch {
      return { error: `"${text}" is not a valid web address. ${advice}.` };
    }
    if (!url.hostname) return { error: `"${text}" has no host name. ${advice}.` };
  } else if (/^(\/|\.\/|\.\.\/)/.test(text)) {
    url = new URL(text, pageUrl);
  } else {
    return { error: `"${text}" is neither a web address nor a path on this site. ${advice}.` };
  }
  url.hash = '';
  url.search = '';
  let href = url.href;
  if (!href.endsWith('/')) href += '/';
  return { url: href };
}

/**
 * Asks the server for the folder's config.json before the running model is unloaded. Resolves when it is there;
 * otherwise rejects with what is wrong in words a user can act on.
 */
export async function checkModelFolder(url: string, signal?: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${url}config.json`, { signal, cache: 'no-store' });
  } catch {
    throw new Error(`Could not reach ${url}: the address is wrong, the server is down, you are offline, or the server does not let this site read it (CORS).`);
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.status === 404) throw new Error(`There is no model at ${url}: its config.json was not found (HTTP 404). Give the folder that holds config.json, the safetensors and the tokenizer.`);
  if (response.status === 401 || response.status === 403) throw new Error(`${url} refused access (HTTP ${response.status}). A gated or private model has to be installed with an access token (Install a model).`);
  if (!response.ok) throw new Error(`${url}config.json could not be read (HTTP ${response.status}).`);
}
