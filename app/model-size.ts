// How much a model folder will download, read from the server before any weight is fetched: the safetensors
// shard sizes (from the index, or the single model.safetensors) by HEAD requests, plus the small files.
export async function downloadSize(modelUrl: string, signal?: AbortSignal): Promise<number | null> {
  const sizeOf = async (name: string): Promise<number | null> => {
    const res = await fetch(modelUrl + name, { method: 'HEAD', signal }).catch(() => null);
    if (!res?.ok) return null;
    const length = Number(res.headers.get('Content-Length'));
    return Number.isFinite(length) && length > 0 ? length : null;
  };
  const index = await fetch(modelUrl + 'model.safetensors.index.json', { signal }).catch(() => null);
  let shards = ['model.safetensors'];
  if (index?.ok) {
    const map = ((await index.json().catch(() => ({}))) as { weight_map?: Record<string, string> }).weight_map ?? {};
    shards = [...new Set(Object.values(map))];
  }
  const sizes = await Promise.all([...shards, 'tokenizer.json', 'config.json'].map(sizeOf));
  if (sizes.slice(0, shards.length).some((s) => s === null)) return null;
  return sizes.reduce<number>((sum, s) => sum + (s ?? 0), 0);
}
