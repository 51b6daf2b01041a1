// A fixture checkpoint widened to more routed experts (tests): every expert tensor and the router's rows are
// repeated `factor` times, so experts e, e + E, e + 2E, … are copies with equal router logits. Top-1 routing breaks
// ties to the lowest expert id (HF's argmax/topk, the engine, the export), so the widened model computes exactly what
// the original does and the fixture's references still hold, while the graph has factor × E experts per MoE layer.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensorsFile, tempModelCopy, writeSafetensorsFile, type RawTensor } from '../../testing/fixtures.ts';

const repeatRows = (t: RawTensor, factor: number): RawTensor => {
  const data = new Uint8Array(t.data.byteLength * factor);
  for (let i = 0; i < factor; i++) data.set(t.data, i * t.data.byteLength);
  return { ...t, shape: [t.shape[0] * factor, ...t.shape.slice(1)], data };
};

/** A temp copy of `<fixture>/model` with `factor` × its routed experts; remove it with `removeDir`. */
export function widenedMoeModel(fixture: string, factor: number): string {
  const dir = tempModelCopy(fixture);
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { text_config?: Record<string, number> } & Record<string, number>;
  const text = config.text_config ?? config;
  const experts = text.num_local_experts;
  text.num_local_experts = experts * factor;
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const path = join(dir, 'model.safetensors');
  const widened = readSafetensorsFile(path).map((t) => {
    const routed = /\.feed_forward\.experts\.(gate_up_proj|down_proj)$/.test(t.name) || /\.feed_forward\.router\.weight$/.test(t.name);
    if (!routed) return t;
    if (t.shape[0] !== experts) throw new Error(`${t.name}: expected ${experts} experts on axis 0, got shape ${t.shape}`);
    return repeatRows(t, factor);
  });
  writeSafetensorsFile(path, widened);
  return dir;
}
