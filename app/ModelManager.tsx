// The model manager: models installed in this browser's weight store (load, delete, resume), storage used and
// free, and importing a model from the Hugging Face Hub, a URL, a package or a local folder with a real progress
// bar. The engine checks that a model fits before downloading anything; its errors are shown as they are written.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { errorCode } from '../protocol/errors.ts';
import type { ImportProgress, ImportRequest, StoredModelInfo, StoreSpace, WeightFormat } from '../protocol/api.ts';
import type { EngineController } from './engine-client.ts';
import { formatBytes } from './ModelStatus.tsx';
import { hubEndpoint } from './settings.ts';

type SourceKind = 'hub' | 'url' | 'package' | 'folder';

const SOURCE_NAMES: Record<SourceKind, string> = {
  hub: 'Hugging Face repo',
  url: 'URL',
  package: 'Package URL',
  folder: 'Local folder',
};

interface ManagerProps {
  controller: EngineController;
  /** the installed model now loaded, if any */
  loadedId: string | null;
  busy: boolean;
  onLoad: (model: StoredModelInfo, source: string) => void;
}

function describeSource(model: StoredModelInfo): string {
  const { kind, location, revision } = model.source;
  const where = kind === 'hub' ? `Hugging Face: ${location}${revision && revision !== 'main' ? `@${revision}` : ''}` : `${kind}: ${location}`;
  return where;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 60) return `${Math.max(0, Math.ceil(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The request that resumes a partly imported model, where its source can be reached again without the user. */
function resumeRequest(model: StoredModelInfo): ImportRequest | null {
  const { kind, location, revision } = model.source;
  if (kind === 'hub') return { kind: 'hub', repo: location, revision: revision ?? undefined, weights: model.weights, endpoint: hubEndpoint(window.location) };
  if (kind === 'url') return { kind: 'url', url: location, weights: model.weights };
  if (kind === 'package') return { kind: 'package', url: location };
  return null;
}

export function ModelManager({ controller, loadedId, busy, onLoad }: ManagerProps) {
  const [models, setModels] = useState<StoredModelInfo[] | null>(null);
  const [space, setSpace] = useState<StoreSpace | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  /** the model the last import installed, offered for loading */
  const [installed, setInstalled] = useState<StoredModelInfo | null>(null);
  /** the import stopped (cancelled or failed): the bar keeps where it got to, without rate or time left */
  const [stopped, setStopped] = useState(false);

  // the import form
  const [kind, setKind] = useState<SourceKind>('hub');
  const [repo, setRepo] = useState('');
  const [revision, setRevision] = useState('');
  const [token, setToken] = useState('');
  const [url, setUrl] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [weights, setWeights] = useState<WeightFormat>('q4');
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const [importing, setImporting] = useState(false);
  const [importError, setImportError] = useState<{ code: string | undefined; message: string } | null>(null);
  const tokenRef = useRef<HTMLInputElement>(null);

  const refresh = useCallback(async () => {
    try {
      const [list, free] = await Promise.all([controller.listModels(), controller.storageSpace()]);
      setModels(list);
      setSpace(free);
      setListError(null);
    } catch (error) {
      setListError(error instanceof Error ? error.message : String(error));
    }
  }, [controller]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  async function runImport(request: ImportRequest) {
    setImporting(true);
    setImportError(null);
    setNotice('');
    setInstalled(null);
    setStopped(false);
    setProgress(null);
    try {
      const model = await controller.importModel(request, setProgress);
      // an import that finds the model already stored reports no bytes: show it complete all the same
      setProgress((p) =>
        p?.phase === 'complete'
          ? p
          : { phase: 'complete', bytesDone: model.totalBytes, bytesTotal: model.totalBytes, recordsDone: model.records, recordsTotal: model.recordsTotal, bytesPerSecond: 0, secondsLeft: 0, record: null, message: '' },
      );
      setNotice(`${model.name} is installed.`);
      setInstalled(model);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // keep how far it got (resumable), but nothing that still moves: no rate, no time left, no "Reading…"
      setStopped(true);
      setProgress((p) => (p && p.phase !== 'resolving' && p.bytesTotal > 0 ? p : null));
      setImportError({ code: errorCode(error), message });
      if (errorCode(error) === 'auth-required') {
        if (request.kind === 'hub') setKind('hub');
        else if (request.kind === 'url') setKind('url');
        setTimeout(() => tokenRef.current?.focus(), 0);
      }
    } finally {
      setImporting(false);
      void refresh();
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const t = token.trim() || undefined;
    let request: ImportRequest | null = null;
    if (kind === 'hub' && repo.trim())
      request = { kind: 'hub', repo: repo.trim(), revision: revision.trim() || undefined, token: t, weights, endpoint: hubEndpoint(window.location) };
    else if (kind === 'url' && url.trim()) request = { kind: 'url', url: new URL(url.trim(), window.location.href).href, token: t, weights };
    else if (kind === 'package' && url.trim()) request = { kind: 'package', url: new URL(url.trim(), window.location.href).href };
    else if (kind === 'folder' && files.length) request = { kind: 'folder', files, weights };
    if (request) void runImport(request);
  }

  async function remove(model: StoredModelInfo) {
    setConfirming(null);
    try {
      await controller.deleteModel(model.id);
      setNotice(`${model.name} was deleted.`);
    } catch (error) {
      setNotice(`Could not delete ${model.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
    void refresh();
  }

  const percent = progress && progress.bytesTotal > 0 ? Math.floor((100 * progress.bytesDone) / progress.bytesTotal) : progress?.phase === 'complete' ? 100 : 0;
  const canSubmit =
    !importing && (kind === 'hub' ? repo.trim() !== '' : kind === 'folder' ? files.length > 0 : url.trim() !== '');

  return (
    <section className="model-manager" aria-labelledby="installed-heading">
      <h3 id="installed-heading" className="stats-heading">
        Models in this browser
      </h3>
      {listError && <p role="alert" className="manager-error">Could not read the installed models: {listError}</p>}
      {models && models.length === 0 && <p className="panel-note" data-empty>No models installed in this browser yet.</p>}
      {models && models.length > 0 && (
        <ul className="model-list" aria-label="Installed models">
          {models.map((m) => {
            const loaded = m.id === loadedId;
            const resume = m.status === 'partial' ? resumeRequest(m) : null;
            return (
              <li key={m.id} className="model-item" data-model-id={m.id} data-status={m.status}>
                <div className="model-item-name">
                  <strong>{m.name}</strong> {loaded && <span className="model-badge">loaded</span>}
                  <span className={`model-badge model-badge-${m.status}`}>{m.status === 'complete' ? 'complete' : 'partial'}</span>
                </div>
                <div className="panel-note">
                  {m.status === 'complete' ? formatBytes(m.totalBytes) : `${formatBytes(m.bytes)} of ${formatBytes(m.totalBytes)}`} · {m.weights} ·{' '}
                  {describeSource(m)} · {new Date(m.date).toLocaleDateString()}
                </div>
                {confirming === m.id ? (
                  <div className="panel-actions" role="group" aria-label={`Confirm deleting ${m.name}`}>
                    <span>Delete {m.name} ({formatBytes(m.bytes)})?</span>
                    <button type="button" className="danger" onClick={() => void remove(m)} autoFocus>
                      Yes, delete
                    </button>
                    <button type="button" onClick={() => setConfirming(null)}>
                      Keep
                    </button>
                  </div>
                ) : (
                  <div className="panel-actions">
                    {m.status === 'complete' ? (
                      <button type="button" disabled={busy || loaded} aria-label={`Load ${m.name}`} onClick={() => onLoad(m, describeSource(m))}>
                        Load
                      </button>
                    ) : resume ? (
                      <button type="button" disabled={importing} aria-label={`Resume import of ${m.name}`} onClick={() => void runImport(resume)}>
                        Resume import
                      </button>
                    ) : (
                      <span className="panel-note">Pick the same folder again below to resume.</span>
                    )}
                    <button type="button" disabled={importing || loaded} aria-label={`Delete ${m.name}`} onClick={() => setConfirming(m.id)}>
                      Delete
                    </button>
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
      <p className="panel-note" data-storage>
        {space
          ? `Storage: ${formatBytes(space.usage)} used · ${formatBytes(space.free)} available${space.persisted ? ' · kept under storage pressure' : ''}`
          : 'Storage: this browser does not say how much space is used or available.'}
      </p>

      <h3 className="stats-heading">Install a model</h3>
      <p className="panel-note">
        Downloads a model once into this browser's storage (refused up front, with the numbers, when it does not fit), then Load it. An installed model
        works offline, loads without downloading again, and is loaded at start-up when it was the last one used.
      </p>
      <form className="panel-form" onSubmit={submit} aria-label="Import a model">
        <fieldset className="source-choice">
          <legend>Import from</legend>
          {(Object.keys(SOURCE_NAMES) as SourceKind[]).map((k) => (
            <label key={k} className="radio">
              <input type="radio" name="import-source" value={k} checked={kind === k} onChange={() => setKind(k)} disabled={importing} />
              {SOURCE_NAMES[k]}
            </label>
          ))}
        </fieldset>
        {kind === 'hub' && (
          <>
            <label>
              Repository id
              <input type="text" spellCheck={false} placeholder="meta-llama/Llama-4-Scout-17B-16E-Instruct" value={repo} onChange={(e) => setRepo(e.target.value)} />
            </label>
            <label>
              Revision (optional)
              <input type="text" spellCheck={false} placeholder="main" value={revision} onChange={(e) => setRevision(e.target.value)} />
            </label>
          </>
        )}
        {(kind === 'url' || kind === 'package') && (
          <label>
            {kind === 'url' ? 'Model folder URL' : 'Package URL'}
            <input type="text" inputMode="url" spellCheck={false} placeholder="https://example.com/models/my-llama4/" value={url} onChange={(e) => setUrl(e.target.value)} />
          </label>
        )}
        {(kind === 'hub' || kind === 'url') && (
          <label>
            Access token (optional, for gated or private models)
            <input ref={tokenRef} type="password" autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.target.value)} />
          </label>
        )}
        {kind === 'folder' && (
          <label>
            Folder (config.json, safetensors, tokenizer)
            <input
              type="file"
              // @ts-expect-error webkitdirectory is not in React's input attributes
              webkitdirectory=""
              multiple
              onChange={(e) => setFiles(e.target.files ? [...e.target.files] : [])}
            />
          </label>
        )}
        {kind !== 'package' && (
          <label>
            Weights
            <select value={weights} onChange={(e) => setWeights(e.target.value === 'f32' ? 'f32' : 'q4')}>
              <option value="q4">int4 (q4)</option>
              <option value="f32">f32</option>
            </select>
          </label>
        )}
        <div className="panel-actions">
          <button type="submit" disabled={!canSubmit}>
            Import
          </button>
          {importing && (
            <button type="button" onClick={() => controller.cancelImport()}>
              Cancel import
            </button>
          )}
        </div>
        {(importing || progress) && !(stopped && !progress) && (
          <div className="import-progress">
            <div
              role="progressbar"
              aria-label="Import progress"
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={percent}
              aria-valuetext={progress && progress.bytesTotal > 0 ? `${percent} %: ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}` : 'starting'}
              className="progress-track"
            >
              <div className="progress-fill" style={{ width: `${percent}%` }} />
            </div>
            <p className="panel-note" data-import-progress>
              {stopped && progress
                ? `Stopped at ${percent} % · ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}`
                : progress
                ? progress.phase === 'resolving'
                  ? progress.message
                  : `${percent} % · ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}` +
                    (progress.phase === 'importing'
                      ? ` · ${progress.bytesPerSecond > 0 ? `${formatBytes(progress.bytesPerSecond)}/s` : 'measuring speed'}` +
                        (progress.secondsLeft !== null ? ` · ${formatDuration(progress.secondsLeft)} left` : '')
                      : ' · done')
                : 'Starting the import…'}
            </p>
          </div>
        )}
        {importError && (
          <div role="alert" className="manager-error" data-error-code={importError.code}>
            <p>{importError.message}</p>
            {importError.code === 'auth-required' && <p>Enter an access token above and press Import again.</p>}
            {importError.code === 'cancelled' && <p>Press Import (or Resume import) to go on from where it stopped.</p>}
          </div>
        )}
        <div className="panel-actions" aria-live="polite">
          <span className="panel-note" data-manager-notice>
            {notice}
          </span>
          {installed && installed.id !== loadedId && (
            <button type="button" disabled={busy} onClick={() => onLoad(installed, describeSource(installed))}>
              Load {installed.name} now
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
