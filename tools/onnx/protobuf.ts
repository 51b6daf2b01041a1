// The few protobuf wire-format pieces an ONNX file needs: varints, 32-bit floats, length-delimited strings, bytes
// and nested messages. A message is a list of byte pieces with its total length known, so a nested message's
// length prefix is written without copying it, and large tensor bytes are referenced, never copied, until the
// whole model is written out piece by piece.

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

export class ProtoMessage {
  /** the message's bytes, in order; small writes collect in `pending` first */
  readonly pieces: Uint8Array[] = [];
  private pending: number[] = [];
  private flushedLength = 0;

  get length(): number {
    return this.flushedLength + this.pending.length;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.pieces.push(Uint8Array.from(this.pending));
    this.flushedLength += this.pending.length;
    this.pending = [];
  }

  private push(bytes: Uint8Array): void {
    if (bytes.byteLength < 64) {
      for (const b of bytes) this.pending.push(b);
      return;
    }
    this.flush();
    this.pieces.push(bytes);
    this.flushedLength += bytes.byteLength;
  }

  /** Unsigned varint; negative numbers as their 64-bit two's complement (ten bytes), as protobuf's int64 is. */
  private rawVarint(n: number): void {
    if (!Number.isSafeInteger(n)) throw new Error(`protobuf: ${n} is not a safe integer`);
    if (n < 0) {
      let v = BigInt.asUintN(64, BigInt(n));
      while (v >= 0x80n) {
        this.pending.push(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.pending.push(Number(v));
      return;
    }
    while (n >= 0x80) {
      this.pending.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.pending.push(n);
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  /** int32 / int64 / enum / bool field */
  varint(field: number, n: number): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(n);
    return this;
  }

  float(field: number, x: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.push(b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(data.byteLength);
    this.push(data);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoMessage): this {
    m.flush();
    this.tag(field, WIRE_LEN);
    this.rawVarint(m.length);
    this.flush();
    for (const piece of m.pieces) this.pieces.push(piece); // no spread: a model has many pieces
    this.flushedLength += m.length;
    return this;
  }

  /** repeated int64, packed */
  packedVarints(field: number, values: readonly number[]): this {
    const inner = new ProtoMessage();
    for (const v of values) inner.rawVarint(v);
    return this.message(field, inner);
  }

  /** The finished message as its pieces (total bytes: `length`). */
  finish(): Uint8Array[] {
    this.flush();
    return this.pieces;
  }

  /** The finished message as one array (small messages, tests). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.finish()) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}
