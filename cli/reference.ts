// Reads a fixture's reference directory: cases.json and tensors.safetensors (float32 / int32 tensors).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseHeader } from '../worker/model/safetensors.ts';

export interface ReferenceCase {
  name: string;
  prompt?: string;
  messages?: { role: string; content: string | { type: string; text?: string }[] }[];
  add_generation_prompt?: boolean;
  image?: string;
}

export class Reference {
  private constructor(
    readonly cases: ReferenceCase[],
    private bytes: Buffer,
    private tensors: Map<string, { dtype: string; shape: number[]; begin: number; end: number }>,
  ) {}

  static async load(dir: string): Promise<Reference> {
    const cases = JSON.parse(await readFile(join(dir, 'cases.json'), 'utf8')).cases as ReferenceCase[];
    return Reference.fromTensors(cases, join(dir, 'tensors.safetensors'));
  }

  /** Tensors of one safetensors file, with the cases given (none for a file of extra tensors). */
  static async fromTensors(cases: ReferenceCase[], file: string): Promise<Reference> {
    const bytes = await readFile(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    const map = new Map(parseHeader(header, 'tensors.safetensors', 8 + n, bytes.length).map((t) => [t.name, t]));
    return new Reference(cases, bytes, map);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  shape(name: string): number[] {
    return this.get(name).shape;
  }

  private get(name: string) {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`reference tensor ${name} is missing`);
    return t;
  }

  f32(name: string): Float32Array {
    const t = this.get(name);
    if (t.dtype !== 'F32') throw new Error(`${name} is ${t.dtype}, expected F32`);
    return new Float32Array(this.bytes.buffer.slice(this.bytes.byteOffset + t.begin, this.bytes.byteOffset + t.end));
  }

  ids(name: string): number[] {
    const t = this.get(name);
    const buf = this.bytes.buffer.slice(this.bytes.byteOffset + t.begin, this.bytes.byteOffset + t.end);
    if (t.dtype === 'I32') return [...new Int32Array(buf)];
    if (t.dtype === 'I64') return [...new BigInt64Array(buf)].map(Number);
    throw new Error(`${name} is ${t.dtype}, expected integer ids`);
  }
}
