// How much a model folder will download, read from the server before any weight is fetched: the safetensors
// shard sizes (the single model.safetensors, else the shards of the index) by HEAD requests, plus the small files.
// The single file is asked for first, so that the usual one-file folder (the built-in model) causes no 404.
export async function downloadSize(modelUrl: string, signal?: AbortSignal): Promise<number | null> {
  const sizeOf = async (name: string): Promise<number | null> => {
    const res = await fetch(modelUrl + name, { method: 'HEAD', signal }).catch(() => null);
    if (!res?.ok) return null;
    const length = Number(res.headers.get('Content-Length'));
    return Number.isFinite(length) && length > 0 ? length : null;
  };
  let weights = await sizeOf('model.safetensors');
  if (weights === null) {
    const index = await fetch(modelUrl + 'model.safetensors.index.json', { signal }).catch(() => null);
    if (!index?.ok) return null;
    const map = ((await index.json().catch(() => ({}))) as { weight_map?: Record<string, string> }).weight_map ?? {};
    const shards = await Promise.all([...new Set(Object.values(map))].map(sizeOf));
    if (shards.length === 0 || shards.some((s) => s === null)) return null;
    weights = shards.reduce<number>((sum, s) => sum + (s ?? 0), 0);
  }
  const small = await Promise.all(['tokenizer.json', 'config.json'].map(sizeOf));
  return small.reduce<number>((sum, s) => sum + (s ?? 0), weights);
}
