// Reads the nodes back out of an ONNX file (ModelProto.graph = field 7, GraphProto.node = 1, NodeProto input = 1,
// output = 2, name = 3, op_type = 4), with a protobuf wire-format walk written apart from the encoder, so a test
// checks the bytes a runtime loads rather than the builder's own objects.

export interface ReadNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
}

/** Each field of a message: its number and, for length-delimited fields, its bytes (others are skipped). */
function* fields(bytes: Uint8Array): Generator<{ field: number; value: Uint8Array | null }> {
  let at = 0;
  const varint = (): number => {
    let n = 0, scale = 1;
    for (;;) {
      const b = bytes[at++];
      if (b === undefined) throw new Error('protobuf: truncated varint');
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8), wire = key % 8;
    if (wire === 0) varint(), yield { field, value: null };
    else if (wire === 1) (at += 8), yield { field, value: null };
    else if (wire === 5) (at += 4), yield { field, value: null };
    else if (wire === 2) {
      const n = varint();
      if (at + n > bytes.length) throw new Error('protobuf: length past the end');
      yield { field, value: bytes.subarray(at, at + n) };
      at += n;
    } else throw new Error(`protobuf: wire type ${wire} at byte ${at}`);
  }
}

const text = new TextDecoder();

/** The graph's nodes, in file order. */
export function readOnnxNodes(model: Uint8Array): ReadNode[] {
  const nodes: ReadNode[] = [];
  for (const g of fields(model)) {
    if (g.field !== 7 || !g.value) continue;
    for (const n of fields(g.value)) {
      if (n.field !== 1 || !n.value) continue;
      const node: ReadNode = { opType: '', name: '', inputs: [], outputs: [] };
      for (const f of fields(n.value)) {
        if (!f.value) continue;
        if (f.field === 1) node.inputs.push(text.decode(f.value));
        else if (f.field === 2) node.outputs.push(text.decode(f.value));
        else if (f.field === 3) node.name = text.decode(f.value);
        else if (f.field === 4) node.opType = text.decode(f.value);
      }
      nodes.push(node);
    }
  }
  return nodes;
}
