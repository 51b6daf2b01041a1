// The model in use (name, size with its breakdown, shape, source), a way back to the built-in model, and trying a
// model folder straight from a URL. Installing a model into this browser is the "Installed models" panel
// (ModelManager.tsx).
import { memo, useEffect, useId, useState, type FormEvent } from 'react';
import type { ModelInfo, WeightFormat } from '../protocol/api.ts';
import { BUILTIN_MODEL } from './builtin-model.ts';
import type { EngineController, EngineState } from './engine-client.ts';
import { checkModelUrl, type ModelChoice } from './model-choice.ts';
import { downloadSize } from './model-size.ts';
import { formatBytes } from './ModelStatus.tsx';

interface ModelPanelProps {
  state: EngineState;
  model: ModelInfo | null;
  /** the model that loaded last */
  running: ModelChoice | null;
  source: string | null;
  /** the installed model loaded, if it came from the weight store */
  storedId: string | null;
  weights: WeightFormat;
  controller: EngineController;
  onLoadUrl: (url: string, weights: WeightFormat) => void;
  onUseBuiltin: () => void;
}

/** Sizes of the model in use: what a load downloads, what this browser stores, what the GPU holds. */
function useSizes(source: string | null, storedId: string | null, controller: EngineController) {
  const [download, setDownload] = useState<number | null>(null);
  const [stored, setStored] = useState<number | null>(null);
  useEffect(() => {
    setDownload(null);
    setStored(null);
    if (!source) return;
    const abort = new AbortController();
    if (storedId) {
      controller.listModels().then(
        (models) => !abort.signal.aborted && setStored(models.find((m) => m.id === storedId)?.totalBytes ?? null),
        () => undefined,
      );
    } else {
      downloadSize(source, abort.signal).then(
        (size) => !abort.signal.aborted && setDownload(size),
        () => undefined,
      );
    }
    return () => abort.abort();
  }, [source, storedId, controller]);
  return { download, stored };
}

export const ModelPanel = memo(function ModelPanel({ state, model, running, source, storedId, weights, controller, onLoadUrl, onUseBuiltin }: ModelPanelProps) {
  const [url, setUrl] = useState('');
  const [mode, setMode] = useState<WeightFormat>(weights);
  const [problem, setProblem] = useState<string | null>(null);
  const problemId = useId();
  useEffect(() => setMode(weights), [weights]);
  const { download, stored } = useSizes(source, storedId, controller);

  const loading = state.kind === 'loading' || state.kind === 'starting';
  const ready = state.kind === 'ready';

  function submit(event: FormEvent) {
    event.preventDefault();
    const checked = checkModelUrl(url, window.location.href);
    if ('error' in checked) {
      setProblem(checked.error);
      return;
    }
    setProblem(null);
    onLoadUrl(checked.url, mode);
  }

  const main = storedId ? stored : download;
  const parts = [
    storedId ? 'download: none (installed in this browser)' : download !== null ? `download ${formatBytes(download)} at each load` : 'download size unknown',
    storedId ? (stored !== null ? `stored ${formatBytes(stored)}` : 'stored in this browser') : 'stored: not installed',
    model ? `GPU ${formatBytes(model.gpuBytes)} (${model.weights})` : null,
  ].filter(Boolean);

  return (
    <div className="model-panel">
      <dl className="stats-list">
        <div className="stats-row">
          <dt>Model</dt>
          <dd data-model-name>
            {model ? model.name : loading ? 'loading…' : 'none'}
            {model && <span className="size-breakdown">{model.architecture}</span>}
          </dd>
        </div>
        <div className="stats-row">
          <dt>Size</dt>
          <dd data-model-size>
            {main !== null ? formatBytes(main) : model ? formatBytes(model.gpuBytes) : '—'}
            <span className="size-breakdown">{parts.join(' · ')}</span>
          </dd>
        </div>
        {model && (
          <div className="stats-row">
            <dt>Shape</dt>
            <dd>
              {model.layers} layers · {model.experts} experts · {model.vocabSize.toLocaleString()} tokens vocabulary · context {model.contextLength.toLocaleString()} tokens
            </dd>
          </div>
        )}
        <div className="stats-row">
          <dt>Source</dt>
          <dd className="model-source">{running?.kind === 'builtin' && ready ? `built-in · ${source}` : (source ?? '—')}</dd>
        </div>
      </dl>
      {running?.kind === 'builtin' && ready && (
        <p className="model-about" data-model-panel-about>
          {BUILTIN_MODEL.can} {BUILTIN_MODEL.cannot}
        </p>
      )}
      {!(running?.kind === 'builtin' && (ready || loading)) && (
        <div className="panel-actions">
          <button type="button" onClick={onUseBuiltin} disabled={loading && running?.kind === 'builtin'}>
            Use the built-in model
          </button>
        </div>
      )}
      <form className="panel-form" onSubmit={submit} aria-label="Load a model from a URL" noValidate>
        <h3 className="stats-heading">Load from a URL (nothing is installed)</h3>
        <label>
          Model URL
          <input
            type="text"
            inputMode="url"
            spellCheck={false}
            placeholder="https://example.com/models/my-llama4/"
            value={url}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problemId}
            onChange={(event) => {
              setUrl(event.target.value);
              setProblem(null);
            }}
          />
        </label>
        <label>
          Weights
          <select value={mode} onChange={(event) => setMode(event.target.value === 'f32' ? 'f32' : 'q4')}>
            <option value="q4">int4 (q4)</option>
            <option value="f32">f32</option>
          </select>
        </label>
        {problem && (
          <p id={problemId} role="alert" className="manager-error" data-url-problem>
            {problem}
          </p>
        )}
        <p className="panel-note">
          A folder laid out like a Hugging Face repo (config.json, safetensors, tokenizer), served with CORS. It is read from the server at every load and
          is not kept; to keep a model in this browser (offline, faster start) install it under Installed models. If it does not load, the model in use stays
          loaded.
        </p>
        <div className="panel-actions">
          <button type="submit" disabled={loading || !url.trim()}>
            Load model
          </button>
        </div>
      </form>
    </div>
  );
});
