// Figures the engine reports: speed of the last reply, GPU memory of the model, the adapter, and when experts are
// paged the expert cache (hit rate, prediction accuracy, bytes paged in) with a plot of expert traffic. When every
// expert is resident the panel says so (never made up).
import { memo } from 'react';
import type { DeviceReport, ExpertStats, GenerationStats, ModelInfo } from '../protocol/api.ts';
import { formatBytes } from './ModelStatus.tsx';

const percent = (x: number) => `${(100 * x).toFixed(1)} %`;

/**
 * Per MoE layer a row of cells, one per expert: filled orange when the last token used it, blue when it is resident
 * in a GPU slot, and numbered with how many of the latest steps (tokens) used it.
 */
function TrafficPlot({ experts, count }: { experts: ExpertStats; count: number }) {
  const cell = 18, gap = 3, label = 30;
  const rows = experts.traffic;
  const steps = Math.max(0, ...rows.map((r) => r.recent.length));
  const width = label + count * (cell + gap);
  const height = rows.length * (cell + gap);
  const summary = rows
    .map((r) => {
      const uses = Array.from({ length: count }, (_, e) => r.recent.filter((step) => step.includes(e)).length);
      return `layer ${r.layer}: used ${r.used.join(', ') || 'none'}; resident ${r.resident.join(', ') || 'none'}; uses in the last ${r.recent.length} steps ${uses.join(', ')}`;
    })
    .join('. ');
  return (
    <figure className="traffic">
      <svg role="img" aria-labelledby="traffic-title traffic-desc" width={width} height={height} viewBox={`0 0 ${width} ${height}`} data-traffic-layers={rows.length}>
        <title id="traffic-title">Expert traffic of the last token and the last {steps} steps</title>
        <desc id="traffic-desc">{summary}</desc>
        {rows.map((row, i) => {
          const used = new Set(row.used);
          const resident = new Set(row.resident);
          const y = i * (cell + gap);
          return (
            <g key={row.layer}>
              <text x={0} y={y + cell - 5} className="traffic-label">
                {row.layer}
              </text>
              {Array.from({ length: count }, (_, e) => {
                const uses = row.recent.filter((step) => step.includes(e)).length;
                const x = label + e * (cell + gap);
                return (
                  <g key={e}>
                    <rect x={x} y={y} width={cell} height={cell} rx={2} className={`traffic-cell${resident.has(e) ? ' resident' : ''}${used.has(e) ? ' used' : ''}`} />
                    {uses > 0 && (
                      <text x={x + cell / 2} y={y + cell - 5} textAnchor="middle" className={`traffic-count${resident.has(e) || used.has(e) ? ' on-fill' : ''}`}>
                        {uses}
                      </text>
                    )}
                  </g>
                );
              })}
            </g>
          );
        })}
      </svg>
      <figcaption className="panel-note">
        One row per MoE layer, one cell per expert: <span className="legend used" aria-hidden="true" /> used by the last token,{' '}
        <span className="legend resident" aria-hidden="true" /> resident on the GPU ({experts.slotsPerLayer} {experts.slotsPerLayer === 1 ? 'slot' : 'slots'} a
        layer); the number is how many of the last {steps} steps used it (a decoded token is a step, a prompt is one).
      </figcaption>
    </figure>
  );
}

export const StatsPanel = memo(function StatsPanel({ stats, model, device }: { stats: GenerationStats | null; model: ModelInfo | null; device: DeviceReport | null }) {
  const rows: [string, string][] = [
    ['Prefill', stats ? `${stats.prefillTokensPerSecond.toFixed(1)} tok/s (${stats.promptTokens} tokens)` : '—'],
    ['Decode', stats ? `${stats.decodeTokensPerSecond.toFixed(1)} tok/s (${stats.generatedTokens} tokens)` : '—'],
    ['Time to first token', stats ? `${Math.round(stats.timeToFirstTokenMs)} ms` : '—'],
    ['GPU memory (model weights)', model ? formatBytes(model.gpuBytes) : '—'],
    ['Context', model ? `${model.contextLength} tokens` : '—'],
    ['GPU', device ? `${device.adapter}${device.features.includes('shader-f16') ? ' · f16' : ''}` : '—'],
  ];
  const experts = stats?.experts;
  const expertRows: [string, string][] = experts
    ? [
        ['Expert cache hit rate', `${percent(experts.hitRate)} (${experts.hits} hits, ${experts.misses} misses)`],
        ['Prediction accuracy', experts.prefetchAccuracy === null ? 'not measured yet' : percent(experts.prefetchAccuracy)],
        ['Paged in', formatBytes(experts.bytesRead) + (experts.pinnedBytes > 0 ? ` (${formatBytes(experts.pinnedBytes)} copied from pinned memory)` : '')],
        ['Expert slots', `${experts.slotsPerLayer} per layer${model ? ` of ${model.experts} experts` : ''}`],
      ]
    : [];
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
      {experts ? (
        <>
          <dl className="stats-list" data-stat="expert-cache">
            {expertRows.map(([name, value]) => (
              <div key={name} className="stats-row">
                <dt>{name}</dt>
                <dd data-stat={name}>{value}</dd>
              </div>
            ))}
          </dl>
          {experts.traffic.length > 0 && model && <TrafficPlot experts={experts} count={model.experts} />}
        </>
      ) : (
        <p className="stats-unavailable" data-stat="expert-cache">
          {stats
            ? 'Hit rate and expert traffic: not available for this model. All experts are resident on the GPU (no paging); set a smaller GPU memory budget for experts in Settings to page them.'
            : 'Hit rate and expert traffic: not available for this model until a reply is written with experts paged.'}
        </p>
      )}
      {!stats && <p className="panel-note">Speed figures appear after the first reply.</p>}
    </div>
  );
});
