// The current model (name, size, source), loading another one from a URL, and the model manager (installed models,
// storage, import: ModelManager.tsx).
import { memo, useEffect, useState, type FormEvent } from 'react';
import type { ModelInfo, WeightFormat } from '../protocol/api.ts';
import type { EngineController, EngineState } from './engine-client.ts';
import { ModelManager } from './ModelManager.tsx';
import { downloadSize } from './model-size.ts';
import { formatBytes } from './ModelStatus.tsx';

interface ModelPanelProps {
  state: EngineState;
  model: ModelInfo | null;
  source: string | null;
  /** the installed model loaded, if it came from the weight store */
  storedId: string | null;
  weights: WeightFormat;
  controller: EngineController;
  onLoad: (url: string, weights: WeightFormat) => void;
  onLoadStored: (id: string, source: string, weights: WeightFormat) => void;
}

export const ModelPanel = memo(function ModelPanel({ state, model, source, storedId, weights, controller, onLoad, onLoadStored }: ModelPanelProps) {
  const [url, setUrl] = useState('');
  const [mode, setMode] = useState<WeightFormat>(weights);
  const [download, setDownload] = useState<number | null>(null);
  useEffect(() => setMode(weights), [weights]);
  useEffect(() => {
    setDownload(null);
    if (!source || storedId) return;
    const abort = new AbortController();
    downloadSize(source, abort.signal).then(setDownload, () => setDownload(null));
    return () => abort.abort();
  }, [source, storedId]);

  const loading = state.kind === 'loading' || state.kind === 'starting';

  function submit(event: FormEvent) {
    event.preventDefault();
    if (url.trim()) onLoad(url.trim(), mode);
  }

  return (
    <div className="model-panel">
      <dl className="stats-list">
        <div className="stats-row">
          <dt>Model</dt>
          <dd>{model ? `${model.name} (${model.architecture})` : loading ? 'loading…' : 'none'}</dd>
        </div>
        <div className="stats-row">
          <dt>Size</dt>
          <dd>
            {storedId ? 'installed in this browser' : download !== null ? `${formatBytes(download)} download` : 'download size unknown'}
            {model ? ` · ${formatBytes(model.gpuBytes)} on the GPU (${model.weights})` : ''}
          </dd>
        </div>
        {model && (
          <div className="stats-row">
            <dt>Shape</dt>
            <dd>
              {model.layers} layers · {model.experts} experts · {model.vocabSize.toLocaleString()} tokens vocabulary
            </dd>
          </div>
        )}
        <div className="stats-row">
          <dt>Source</dt>
          <dd className="model-source">{source ?? '—'}</dd>
        </div>
      </dl>
      <form className="panel-form" onSubmit={submit} aria-label="Load a model">
        <label>
          Model URL
          <input
            type="text"
            inputMode="url"
            spellCheck={false}
            placeholder="https://example.com/models/my-llama4/"
            value={url}
            onChange={(event) => setUrl(event.target.value)}
          />
        </label>
        <label>
          Weights
          <select value={mode} onChange={(event) => setMode(event.target.value === 'f32' ? 'f32' : 'q4')}>
            <option value="q4">int4 (q4)</option>
            <option value="f32">f32</option>
          </select>
        </label>
        <p className="panel-note">A folder laid out like a Hugging Face repo (config.json, safetensors, tokenizer), served with CORS.</p>
        <div className="panel-actions">
          <button type="submit" disabled={loading || !url.trim()}>
            Load model
          </button>
        </div>
      </form>
      <ModelManager controller={controller} loadedId={storedId} busy={loading} onLoad={onLoadStored} />
    </div>
  );
});
