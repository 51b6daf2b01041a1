// A small ONNX graph builder: nodes get unique names from the block they belong to (`scope`), constants become
// deduplicated initializers, and weights go to an initializer store that keeps them inline or writes them to an
// external data file as they arrive (so a large model never sits in memory twice).
import { closeSync, openSync, writeSync } from 'node:fs';
import { DataType, type AttrValue, type DataTypeId, type NodeDef, type TensorInit, type ValueInfo } from './onnx-proto.ts';

/** Where initializer bytes go: kept for the .onnx file itself, or appended to an external data file. */
export class InitializerStore {
  readonly tensors: TensorInit[] = [];
  private fd: number | null = null;
  private offset = 0;
  inlineBytes = 0;

  /** `external`: the data file's path and the name the model refers to it by (relative to the .onnx file). */
  constructor(private external: { path: string; location: string } | null = null) {
    if (external) this.fd = openSync(external.path, 'w');
  }

  get externalBytes(): number {
    return this.offset;
  }

  add(name: string, dataType: DataTypeId, dims: number[], bytes: Uint8Array): void {
    // small tensors (constants, norms) stay inline either way
    if (this.fd === null || bytes.byteLength < 1024) {
      this.tensors.push({ name, dataType, dims, data: bytes });
      this.inlineBytes += bytes.byteLength;
      return;
    }
    const offset = Math.ceil(this.offset / 4096) * 4096; // page-aligned, as onnx.proto recommends for mmap
    if (offset > this.offset) writeSync(this.fd, new Uint8Array(offset - this.offset), 0, offset - this.offset, this.offset);
    writeSync(this.fd, bytes, 0, bytes.byteLength, offset);
    this.offset = offset + bytes.byteLength;
    this.tensors.push({ name, dataType, dims, data: { location: this.external!.location, offset, length: bytes.byteLength } });
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

const bytesOf = (a: Float32Array | BigInt64Array | Uint8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private counter = new Map<string, number>();
  private constants = new Map<string, string>();
  /** prefix of the names of the nodes being added (e.g. 'layers.3.attn') */
  scope = '';

  constructor(readonly store: InitializerStore) {}

  private unique(base: string): string {
    const n = this.counter.get(base) ?? 0;
    this.counter.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  input(name: string, elemType: DataTypeId, shape: (number | string)[]): string {
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  output(name: string, elemType: DataTypeId, shape: (number | string)[]): void {
    this.outputs.push({ name, elemType, shape });
  }

  /** A node with `outputs` outputs; returns their names. */
  opN(opType: string, inputs: string[], outputs: number, attributes?: Record<string, AttrValue>, domain?: string): string[] {
    const name = this.unique(`/${this.scope}/${opType}`);
    const outs = Array.from({ length: outputs }, (_, i) => `${name}_output_${i}`);
    this.nodes.push({ opType, domain, name, inputs, outputs: outs, attributes });
    return outs;
  }

  /** A node with one output; returns its name. */
  op(opType: string, inputs: string[], attributes?: Record<string, AttrValue>, domain?: string): string {
    return this.opN(opType, inputs, 1, attributes, domain)[0];
  }

  /** A node whose output gets a given name (the graph's outputs). */
  opNamed(output: string, opType: string, inputs: string[], attributes?: Record<string, AttrValue>, domain?: string): string {
    this.nodes.push({ opType, domain, name: this.unique(`/${this.scope}/${opType}`), inputs, outputs: [output], attributes });
    return output;
  }

  /** A weight (or other large tensor) as an initializer under its own name. */
  weight(name: string, dataType: DataTypeId, dims: number[], data: Float32Array | Uint8Array): string {
    this.store.add(name, dataType, dims, bytesOf(data));
    return name;
  }

  private constant(kind: string, dataType: DataTypeId, dims: number[], data: Float32Array | BigInt64Array): string {
    const key = `${kind}:${dims.join('x')}:${Array.from(data as ArrayLike<number | bigint>).join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `const_${kind}_${this.constants.size}`;
      this.store.add(name, dataType, dims, bytesOf(data.slice()));
      this.constants.set(key, name);
    }
    return name;
  }

  /** int64 constant; `dims` [] makes a scalar. */
  i64(values: number[], dims: number[] = [values.length]): string {
    return this.constant('i64', DataType.INT64, dims, BigInt64Array.from(values.map(BigInt)));
  }

  /** float32 constant; `dims` [] makes a scalar. */
  f32(values: number[] | Float32Array, dims: number[] = [values.length]): string {
    return this.constant('f32', DataType.FLOAT, dims, Float32Array.from(values));
  }
}
