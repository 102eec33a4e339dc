// onnxruntime-node's MatMul as a benchmark baseline. ONNX models are protobuf
// messages; this writes the one-node model (Y = MatMul(A, B)) with a minimal
// protobuf encoder of its own, so no model file or converter is needed.

// ---- protobuf wire format: varints and length-delimited fields ---------------

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}
const key = (field: number, wire: 0 | 2) => varint(field * 8 + wire);
const int = (field: number, value: number) => [...key(field, 0), ...varint(value)];
const bytes = (field: number, body: number[]) => [...key(field, 2), ...varint(body.length), ...body];
const str = (field: number, s: string) => bytes(field, [...Buffer.from(s, 'utf8')]);

// ---- ONNX messages (field numbers from onnx.proto) ---------------------------

const FLOAT = 1; // TensorProto.DataType.FLOAT

function valueInfo(name: string, dims: number[]): number[] {
  const shape = dims.flatMap((d) => bytes(1, int(1, d))); // TensorShapeProto.dim { dim_value }
  const tensorType = [...int(1, FLOAT), ...bytes(2, shape)]; // TypeProto.Tensor { elem_type, shape }
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))]; // ValueInfoProto { name, type { tensor_type } }
}

/** The serialized ONNX model computing Y[M,N] = A[M,K] · B[K,N]. */
export function matmulModel(M: number, K: number, N: number): Uint8Array {
  const node = [...str(1, 'A'), ...str(1, 'B'), ...str(2, 'Y'), ...str(3, 'matmul'), ...str(4, 'MatMul')];
  const graph = [
    ...bytes(1, node),
    ...str(2, 'frugal-bench'),
    ...bytes(11, valueInfo('A', [M, K])),
    ...bytes(11, valueInfo('B', [K, N])),
    ...bytes(12, valueInfo('Y', [M, N])),
  ];
  const model = [...int(1, 8), ...str(2, 'frugal'), ...bytes(7, graph), ...bytes(8, int(2, 13))];
  return Uint8Array.from(model);
}

interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array, options: object): Promise<{ run(feeds: object): Promise<object> }>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => object;
}

/**
 * onnxruntime-node, or undefined when it is not installed (it is a devDependency).
 * Its telemetry is switched off first (unless the user set ORT_DISABLE_TELEMETRY):
 * otherwise every session writes /tmp/mat-debug-<pid>.log and a device id and
 * database under ~/.cache/Microsoft/DeveloperTools, and tries HTTPS uploads.
 */
export function loadOrt(): OrtModule | undefined {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  try {
    return require('onnxruntime-node') as OrtModule;
  } catch {
    return undefined;
  }
}

/** A ready-to-time ORT MatMul of the given inputs (`threads` intra-op threads). */
export async function ortMatmul(ort: OrtModule, a: Float32Array, b: Float32Array, M: number, K: number, N: number,
  threads: number): Promise<() => Promise<object>> {
  const session = await ort.InferenceSession.create(matmulModel(M, K, N), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = { A: new ort.Tensor('float32', a, [M, K]), B: new ort.Tensor('float32', b, [K, N]) };
  return () => session.run(feeds);
}
