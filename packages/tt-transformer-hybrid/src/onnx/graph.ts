/**
 * A small builder of ONNX graphs over `onnx-proto`'s generated protobuf classes: initializers (float32 weights as
 * little-endian raw data, int64 shape constants), nodes with attributes, typed inputs/outputs with symbolic
 * dimensions, and the encoded `ModelProto`. The export (`export.ts`) writes the decoder through it; nothing here
 * knows about transformers.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** ONNX element types used by the export. */
export const ELEM = { float: 1, int64: 7, bool: 9 } as const;

/** An attribute value: an int, a float, a list of ints, or a tensor (for Constant). */
export type AttrValue = number | { f: number } | number[] | { tensor: onnxProto.onnx.ITensorProto };

/** A dimension of a graph input or output: fixed, or symbolic (a name shared by the dimensions that agree). */
export type Dim = number | string;

/** Whether this platform stores typed arrays little-endian (ONNX raw data is little-endian). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The bytes of `data` in little-endian order: a view on a little-endian platform (the model is encoded before
 * {@link GraphBuilder.encode} returns, which copies them into the file), else a swapped copy.
 */
function float32Bytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] as number, true);
  return out;
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "number") return { name, type: T.INT, i: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ("f" in v) return { name, type: T.FLOAT, f: v.f };
  return { name, type: T.TENSOR, t: v.tensor };
}

function valueInfo(name: string, elem: number, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elem,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Builds one graph: every name it hands out is unique. */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly int64Consts = new Map<string, string>();
  private readonly floatConsts = new Map<number, string>();
  private readonly names = new Set<string>();
  private counter = 0;

  /**
   * A fresh value name `prefix` + a base-36 counter: short on purpose, since every name is stored once per node
   * that reads it and the file of a TT model should be its cores, not its node names.
   */
  fresh(prefix: string): string {
    let name = `${prefix}${(this.counter++).toString(36)}`;
    while (this.names.has(name)) name = `${prefix}${(this.counter++).toString(36)}`;
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph: duplicate value name ${name}`);
    this.names.add(name);
    return name;
  }

  /** A float32 initializer (weights), stored as raw little-endian bytes. */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push({
      name: this.claim(name),
      dims: [...dims],
      dataType: ELEM.float,
      rawData: float32Bytes(data),
    });
    return name;
  }

  /** An int64 constant initializer (shapes, indices), shared between equal values. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `${dims.join("x")}:${values.join(",")}`;
    const known = this.int64Consts.get(key);
    if (known) return known;
    const name = this.fresh("c");
    this.initializers.push({ name, dims: [...dims], dataType: ELEM.int64, int64Data: [...values] });
    this.int64Consts.set(key, name);
    return name;
  }

  /** A float32 scalar constant initializer, shared between equal values. */
  scalar(value: number): string {
    const known = this.floatConsts.get(value);
    if (known) return known;
    const name = this.fresh("f");
    this.initializers.push({ name, dims: [], dataType: ELEM.float, floatData: [value] });
    this.floatConsts.set(value, name);
    return name;
  }

  /** Adds a node; returns its outputs (fresh names unless `outputs` names them). */
  node(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    outputs: number | readonly string[] = 1,
  ): string[] {
    const outs =
      typeof outputs === "number"
        ? Array.from({ length: outputs }, () => this.fresh("v"))
        : outputs.map((o) => this.claim(o));
    this.nodes.push({
      opType,
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Adds a one-output node and returns that output. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(opType, inputs, attrs)[0] as string;
  }

  /** `x` reshaped to `shape` (int64 constant; −1 and 0 as in ONNX Reshape). */
  reshape(x: string, shape: readonly number[]): string {
    return this.op("Reshape", [x, this.int64(shape)]);
  }

  /** `x` with its axes permuted. */
  transpose(x: string, perm: readonly number[]): string {
    return this.op("Transpose", [x], { perm: [...perm] });
  }

  /** Declares a graph input. */
  input(name: string, elem: number, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), elem, dims));
    return name;
  }

  /** Declares a graph output named `name`, produced by an Identity of `value`. */
  output(name: string, value: string, elem: number, dims: readonly Dim[]): void {
    this.node("Identity", [value], {}, [name]);
    this.outputs.push(valueInfo(name, elem, dims));
  }

  /** The encoded ModelProto. */
  encode(meta: {
    opset: number;
    irVersion: number;
    graphName: string;
    docString: string;
    properties: Record<string, string>;
  }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: meta.irVersion,
      opsetImport: [{ domain: "", version: meta.opset }],
      producerName: "@tensor-tt/tt-transformer-hybrid",
      docString: meta.docString,
      metadataProps: Object.entries(meta.properties).map(([key, value]) => ({ key, value })),
      graph: {
        name: meta.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Decodes ONNX bytes into a plain object (int64 values as numbers, bytes as Uint8Array): for inspection and tests. */
export function decodeOnnx(bytes: Uint8Array): OnnxModelObject {
  const m = onnx.ModelProto.decode(bytes);
  return onnx.ModelProto.toObject(m, { longs: Number, defaults: false, arrays: true }) as OnnxModelObject;
}

/** The parts of a decoded ModelProto that {@link decodeOnnx} callers read. */
export interface OnnxModelObject {
  irVersion?: number;
  opsetImport?: Array<{ domain?: string; version?: number }>;
  producerName?: string;
  metadataProps?: Array<{ key?: string; value?: string }>;
  graph?: {
    name?: string;
    node?: Array<{ opType?: string; input?: string[]; output?: string[]; attribute?: unknown[] }>;
    initializer?: Array<{
      name?: string;
      dims?: number[];
      dataType?: number;
      rawData?: Uint8Array;
      int64Data?: number[];
      floatData?: number[];
    }>;
    input?: OnnxValueInfoObject[];
    output?: OnnxValueInfoObject[];
  };
}

/** A graph input or output of a decoded model. */
export interface OnnxValueInfoObject {
  name?: string;
  type?: {
    tensorType?: { elemType?: number; shape?: { dim?: Array<{ dimValue?: number; dimParam?: string }> } };
  };
}
