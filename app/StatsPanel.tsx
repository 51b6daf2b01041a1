// Figures the engine reports: speed of the last reply, GPU memory of the model, the adapter. Expert-cache figures
// appear once the engine pages experts; until then the panel says they are not available (never made up).
import { memo } from 'react';
import type { DeviceReport, GenerationStats, ModelInfo } from '../worker/api.ts';
import { formatBytes } from './ModelStatus.tsx';

export const StatsPanel = memo(function StatsPanel({ stats, model, device }: { stats: GenerationStats | null; model: ModelInfo | null; device: DeviceReport | null }) {
  const rows: [string, string][] = [
    ['Prefill', stats ? `${stats.prefillTokensPerSecond.toFixed(1)} tok/s (${stats.promptTokens} tokens)` : '—'],
    ['Decode', stats ? `${stats.decodeTokensPerSecond.toFixed(1)} tok/s (${stats.generatedTokens} tokens)` : '—'],
    ['Time to first token', stats ? `${Math.round(stats.timeToFirstTokenMs)} ms` : '—'],
    ['GPU memory (model weights)', model ? formatBytes(model.gpuBytes) : '—'],
    ['Context', model ? `${model.contextLength} tokens` : '—'],
    ['GPU', device ? `${device.adapter}${device.features.includes('shader-f16') ? ' · f16' : ''}` : '—'],
  ];
  return (
    <div className="stats" aria-label="Statistics">
      <dl className="stats-list">
        {rows.map(([name, value]) => (
          <div key={name} className="stats-row">
            <dt>{name}</dt>
            <dd data-stat={name}>{value}</dd>
          </div>
        ))}
      </dl>
      <h3 className="stats-heading">Expert cache</h3>
      <p className="stats-unavailable" data-stat="expert-cache">
        Hit rate and expert traffic: not available for this model. Every expert is resident on the GPU (no paging), and the
        engine does not report per-layer expert use yet.
      </p>
      {!stats && <p className="panel-note">Speed figures appear after the first reply.</p>}
    </div>
  );
});
