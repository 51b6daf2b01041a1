// ONNX's ModelProto and the messages inside it, as plain objects, encoded with the field numbers of onnx/onnx.proto
// (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto, OperatorSetIdProto).
import { ProtoMessage } from './protobuf.ts';

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

export interface TensorInit {
  name: string;
  dataType: DataTypeId;
  dims: number[];
  /** raw little-endian bytes (inline), or where they sit in the external data file */
  data: Uint8Array | { location: string; offset: number; length: number };
}

/** An attribute value: integers and integer lists are INT/INTS; floats are wrapped so they are not taken for ints. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | { tensor: TensorInit };

export interface NodeDef {
  opType: string;
  domain?: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  elemType: DataTypeId;
  /** numbers are fixed dimensions, strings symbolic ones (dim_param) */
  shape: (number | string)[];
}

export interface ModelDef {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  graphName: string;
  nodes: NodeDef[];
  initializers: TensorInit[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

function tensorProto(t: TensorInit): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of t.dims) m.varint(1, d); // dims (unpacked is valid for repeated int64 in proto2)
  m.varint(2, t.dataType).string(8, t.name);
  if (t.data instanceof Uint8Array) {
    m.bytes(9, t.data); // raw_data
  } else {
    const entry = (key: string, value: string) => new ProtoMessage().string(1, key).string(2, value);
    m.message(13, entry('location', t.data.location));
    m.message(13, entry('offset', String(t.data.offset)));
    m.message(13, entry('length', String(t.data.length)));
    m.varint(14, 1); // data_location = EXTERNAL
  }
  return m;
}

function attributeProto(name: string, v: AttrValue): ProtoMessage {
  const m = new ProtoMessage().string(1, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer; wrap floats as { float: x }`);
    m.varint(20, ATTR.INT).varint(3, v);
  } else if (typeof v === 'string') {
    m.varint(20, ATTR.STRING).string(4, v);
  } else if (Array.isArray(v)) {
    m.varint(20, ATTR.INTS);
    for (const x of v) m.varint(8, x);
  } else if ('float' in v) {
    m.varint(20, ATTR.FLOAT).float(2, v.float);
  } else if ('floats' in v) {
    m.varint(20, ATTR.FLOATS);
    for (const x of v.floats) m.float(7, x);
  } else {
    m.varint(20, ATTR.TENSOR).message(5, tensorProto(v.tensor));
  }
  return m;
}

function nodeProto(n: NodeDef): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name).string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) m.message(5, attributeProto(k, v));
  if (n.domain) m.string(7, n.domain);
  return m;
}

function valueInfoProto(v: ValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new ProtoMessage().varint(1, d) : new ProtoMessage().string(2, d));
  const tensorType = new ProtoMessage().varint(1, v.elemType).message(2, shape);
  return new ProtoMessage().string(1, v.name).message(2, new ProtoMessage().message(1, tensorType));
}

/** The model as protobuf pieces (write them in order; `length` of the returned message is the file size). */
export function encodeModel(model: ModelDef): ProtoMessage {
  const graph = new ProtoMessage();
  for (const n of model.nodes) graph.message(1, nodeProto(n));
  graph.string(2, model.graphName);
  for (const t of model.initializers) graph.message(5, tensorProto(t));
  for (const i of model.inputs) graph.message(11, valueInfoProto(i));
  for (const o of model.outputs) graph.message(12, valueInfoProto(o));
  const m = new ProtoMessage().varint(1, model.irVersion).string(2, model.producerName);
  m.message(7, graph);
  for (const o of model.opsets) {
    const opset = new ProtoMessage();
    if (o.domain) opset.string(1, o.domain);
    m.message(8, opset.varint(2, o.version));
  }
  return m;
}
