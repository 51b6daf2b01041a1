// Reads the Hugging Face reference fixtures: int32 tensors from a safetensors file, and byte-level BPE decoding
// of token ids with the model's tokenizer.json (HF decode with special tokens kept, as in cases.json).
import { readFileSync } from 'node:fs';

export function readInt32Tensor(file: string, name: string): number[] {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const entry = header[name];
  if (!entry) throw new Error(`${file}: no tensor named ${name}`);
  if (entry.dtype !== 'I32') throw new Error(`${file}: ${name} is ${entry.dtype}, expected I32`);
  const [begin, end] = entry.data_offsets;
  const data = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
  const ids: number[] = [];
  for (let offset = 0; offset < data.length; offset += 4) ids.push(data.readInt32LE(offset));
  return ids;
}

/** GPT-2 byte-level alphabet: printable bytes map to themselves, the rest to U+0100 onwards. */
function byteDecoder(): Map<string, number> {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const map = new Map<string, number>();
  let next = 256;
  for (let b = 0; b < 256; b++) map.set(String.fromCodePoint(printable(b) ? b : next++), b);
  return map;
}

export function decodeTokens(tokenizerJson: string, ids: number[]): string {
  const tokenizer = JSON.parse(tokenizerJson) as {
    model: { vocab: Record<string, number> };
    added_tokens: { id: number; content: string }[];
  };
  const pieces = new Map<number, { text: string; special: boolean }>();
  for (const [text, id] of Object.entries(tokenizer.model.vocab)) pieces.set(id, { text, special: false });
  for (const { id, content } of tokenizer.added_tokens) pieces.set(id, { text: content, special: true });
  const bytes = byteDecoder();
  const out: number[] = [];
  for (const id of ids) {
    const piece = pieces.get(id);
    if (!piece) continue; // ids in the padded part of the vocabulary decode to nothing, as in Hugging Face
    if (piece.special) out.push(...Buffer.from(piece.text, 'utf8'));
    else for (const char of piece.text) out.push(bytes.get(char) ?? 0x3f);
  }
  return Buffer.from(out).toString('utf8');
}

/** The Hugging Face reference folder of a fixture: $TABSCOUT_FIXTURES/<name>/reference, default ../shared/fixtures. */
export function referenceDir(fixture: string): string {
  const root = process.env.TABSCOUT_FIXTURES ?? new URL('../../../shared/fixtures', import.meta.url).pathname;
  return `${root}/${fixture}/reference`;
}
