// Tensor: a shape plus host memory (a Float32Array, shared zero-copy with the
// addon) or a device buffer on CUDA.
import { FrugalError, describe } from './errors';
import { native } from './binding';
import { FLOAT32_MAX, checkEnum, shapeText } from './validate';

/** Where a tensor's memory lives. */
export type DeviceName = 'cpu' | 'cuda';

/** A CUDA allocation made by the addon (freed when garbage-collected). */
export interface DeviceBuffer {
  readonly __frugalDevicePtr: bigint;
  readonly length: number;
}

/** Memory as the addon takes it: host floats or a device buffer. */
export type Memory = Float32Array | DeviceBuffer;

interface CoreNative {
  cudaAlloc(args: { length: number }): DeviceBuffer;
  cudaCopy(args: { dst: Memory; src: Memory }): void;
  firstNonFinite(args: { x: Float32Array }): number;
}

/**
 * Host floats from a Float32Array (zero copy) or a number[] whose elements are all
 * finite as float32s; element errors name `${name}[i]`.
 * @throws FrugalError E_DTYPE (neither; an element not a finite number), E_RANGE (an element beyond float32).
 * @internal
 */
export function hostFloats(data: unknown, name: string): Float32Array {
  if (data instanceof Float32Array) return data;
  if (!Array.isArray(data)) throw new FrugalError('E_DTYPE', `${name}: expected a Float32Array or number[], got ${describe(data)}`);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new FrugalError('E_DTYPE', `${name}[${i}]: expected a finite number, got ${describe(v)}`);
    if (Math.abs(v) > FLOAT32_MAX) {
      throw new FrugalError('E_RANGE', `${name}[${i}]: expected a number finite as a float32 (|x| <= 3.4e38), got ${describe(v)}`);
    }
  }
  return Float32Array.from(data as number[]);
}

/** Largest element count of one tensor (the addon indexes with 64-bit integers; JS arrays stop here). */
export const MAX_ELEMENTS = 2 ** 32 - 1;

/**
 * Checks a shape (non-negative safe integers) and returns its element count.
 * @throws FrugalError E_SHAPE (not an array, more than 6 dimensions, a bad dimension), E_RANGE (more than {@link MAX_ELEMENTS} elements).
 */
export function checkShape(shape: unknown, name = 'shape'): number {
  if (!Array.isArray(shape)) throw new FrugalError('E_SHAPE', `${name}: expected an array of dimensions, got ${describe(shape)}`);
  if (shape.length > 6) throw new FrugalError('E_SHAPE', `${name}: expected at most 6 dimensions, got ${shape.length}`);
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new FrugalError('E_SHAPE', `${name}[${i}]: expected a non-negative integer, got ${describe(d)}`);
    }
    n *= d;
  }
  if (n > MAX_ELEMENTS) throw new FrugalError('E_RANGE', `${name}: ${shapeText(shape)} has ${n} elements, more than ${MAX_ELEMENTS}`);
  return n;
}

/**
 * An n-dimensional fp32 array. On the CPU `data` is the Float32Array itself (no
 * copy); on CUDA the memory is a device buffer and `.to('cpu')` brings it back.
 */
export class Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Where the memory lives. */
  readonly device: DeviceName;
  /** Number of elements. */
  readonly size: number;
  private readonly host?: Float32Array;
  private readonly deviceBuffer?: DeviceBuffer;

  private constructor(shape: readonly number[], size: number, host?: Float32Array, deviceBuffer?: DeviceBuffer) {
    this.shape = Object.freeze(shape.slice());
    this.size = size;
    this.host = host;
    this.deviceBuffer = deviceBuffer;
    this.device = deviceBuffer ? 'cuda' : 'cpu';
  }

  /**
   * Wraps `data` with `shape`. A Float32Array is used as is (shared, not copied);
   * a number[] is converted and must hold only numbers finite as float32s (1e300 would become Infinity).
   * @throws FrugalError E_SHAPE (bad shape, or data of another length), E_DTYPE (not a Float32Array or number[], a non-finite entry), E_RANGE (too many elements, an entry beyond float32).
   * @example Tensor.from([1, 2, 3, 4, 5, 6], [2, 3])
   */
  static from(data: Float32Array | number[], shape: number[]): Tensor {
    const size = checkShape(shape);
    const host = hostFloats(data, 'data');
    if (host.length !== size) {
      const detached = host.buffer.byteLength === 0 && size > 0 ? ' (is its buffer detached?)' : '';
      throw new FrugalError('E_SHAPE', `data: shape ${shapeText(shape)} needs ${size} elements, got ${host.length}${detached}`);
    }
    return new Tensor(shape, size, host);
  }

  /** @internal Wraps a device buffer (used by ops that produce CUDA tensors). */
  static fromDevice(buffer: DeviceBuffer, shape: readonly number[]): Tensor {
    return new Tensor(shape, checkShape(shape as number[]), undefined, buffer);
  }

  /**
   * The host data (zero copy). Throws E_DEVICE for a CUDA tensor, and E_SHAPE if
   * the Float32Array was detached (transferred) after the tensor was made.
   * @throws FrugalError E_DEVICE (a CUDA tensor), E_SHAPE (detached buffer).
   */
  get data(): Float32Array {
    if (!this.host) throw new FrugalError('E_DEVICE', `tensor.data: the tensor is on '${this.device}'; call .to('cpu') first`);
    if (this.host.length !== this.size) {
      throw new FrugalError('E_SHAPE', `tensor.data: the buffer holds ${this.host.length} elements, the shape ${shapeText(this.shape)} needs ${this.size} (detached?)`);
    }
    return this.host;
  }

  /** @internal True when the host Float32Array no longer holds the shape's elements (its buffer was transferred or shrunk). */
  get detached(): boolean {
    return this.host !== undefined && this.host.length !== this.size;
  }

  /** @internal The memory as the addon takes it: a Float32Array or a device buffer. */
  get memory(): Memory {
    return this.deviceBuffer ?? this.data;
  }

  /**
   * A copy of this tensor on `device` (this tensor itself if it is already there).
   * @throws FrugalError E_RANGE (unknown device), E_DEVICE (no CUDA device or backend), E_NATIVE (a failed copy).
   */
  to(device: DeviceName): Tensor {
    checkEnum(device, 'device', ['cpu', 'cuda'] as const);
    if (device === this.device) return this;
    const nat = native<CoreNative>();
    try {
      if (device === 'cuda') {
        const buf = nat.cudaAlloc({ length: this.size });
        if (this.size > 0) nat.cudaCopy({ dst: buf, src: this.data });
        return new Tensor(this.shape, this.size, undefined, buf);
      }
      const host = hostZeros(this.size, `tensor.to('cpu')`);
      if (this.size > 0) nat.cudaCopy({ dst: host, src: this.deviceBuffer! });
      return new Tensor(this.shape, this.size, host);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      throw new FrugalError(e.code === 'E_DEVICE' ? 'E_DEVICE' : 'E_NATIVE', `tensor.to('${device}'): ${e.message}`);
    }
  }

  /**
   * The same memory seen with another shape of equal size.
   * @throws FrugalError E_SHAPE (bad shape or another element count), E_RANGE (too many elements).
   */
  reshape(shape: number[]): Tensor {
    const size = checkShape(shape);
    if (size !== this.size) throw new FrugalError('E_SHAPE', `shape: ${shapeText(shape)} has ${size} elements, the tensor has ${this.size}`);
    return new Tensor(shape, size, this.host, this.deviceBuffer);
  }
}

/**
 * `make()`, an allocation of `n` elements for `what`, with V8's bare RangeError
 * ("Array buffer allocation failed") turned into a FrugalError: the one wrapping
 * of host allocation failures.
 * @throws FrugalError E_RANGE (the allocation failed).
 * @internal
 */
export function allocate<T>(n: number, what: string, make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new FrugalError('E_RANGE', `${what}: cannot allocate ${n} elements (${(err as Error).message})`);
  }
}

/** `n` zero floats of host memory for `what` (see {@link allocate}). @internal */
export function hostZeros(n: number, what: string): Float32Array {
  return allocate(n, what, () => new Float32Array(n));
}

/**
 * A zero-filled tensor.
 * @throws FrugalError as {@link checkShape}; E_RANGE (host memory cannot be allocated); as {@link Tensor.to} for a device other than 'cpu'.
 */
export function zeros(shape: number[], device: DeviceName = 'cpu'): Tensor {
  const t = Tensor.from(hostZeros(checkShape(shape), `zeros(${shapeText(shape)})`), shape);
  return device === 'cpu' ? t : t.to(device);
}

/**
 * Checks that `value` is a Tensor whose memory is still there; returns it.
 * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (its host buffer was detached or shrunk).
 */
export function checkTensor(value: unknown, name: string): Tensor {
  if (!(value instanceof Tensor)) throw new FrugalError('E_DTYPE', `${name}: expected a Tensor, got ${describe(value)}`);
  if (value.detached) {
    throw new FrugalError('E_SHAPE', `${name}: its Float32Array was detached (its buffer transferred) or shrunk after the tensor was made (the shape needs ${value.size} elements)`);
  }
  return value;
}

/**
 * Checks a tensor's rank and, where given (not -1), its dimensions.
 * @throws FrugalError E_SHAPE (another rank or dimension).
 */
export function checkDims(t: Tensor, name: string, want: readonly number[]): void {
  // A loop, not want.every: the callback form took V8's slow property path on frozen shapes.
  let ok = t.shape.length === want.length;
  for (let i = 0; ok && i < want.length; i++) ok = want[i] === -1 || want[i] === t.shape[i];
  if (!ok) {
    const text = `[${want.map((d) => (d === -1 ? '*' : d)).join(', ')}]`;
    throw new FrugalError('E_SHAPE', `${name}: expected shape ${text}, got ${shapeText(t.shape)}`);
  }
}

/**
 * Checks that all given tensors share one device; returns it.
 * @throws FrugalError E_DEVICE (tensors on different devices).
 */
export function commonDevice(tensors: Array<[Tensor | undefined, string]>): DeviceName {
  let device: DeviceName | undefined;
  let first = '';
  for (const [t, name] of tensors) {
    if (!t) continue;
    if (device === undefined) {
      device = t.device;
      first = name;
    } else if (t.device !== device) {
      throw new FrugalError('E_DEVICE', `${name}: expected a tensor on '${device}' like ${first}, got one on '${t.device}'`);
    }
  }
  return device ?? 'cpu';
}

/**
 * How an output may share memory with an input: 'inPlace' — be exactly that input
 * (elementwise and row-by-row ops read each element before writing it) or apart
 * from it; 'apart' — not overlap it at all (a GEMM reads its inputs many times).
 * A partial overlap is never allowed: it would give wrong results silently.
 * @internal
 */
export type Sharing = 'inPlace' | 'apart';

/** An input an output is checked against: the tensor (or undefined), its name, and the sharing allowed. */
export type OutputInput = readonly [Tensor | undefined, string, Sharing];

// Overlap of two host views: byte ranges on one ArrayBuffer (a SharedArrayBuffer
// cloned by structuredClone is another object on the same memory; only the addon,
// which sees the addresses, can catch that alias).
function overlap(x: Float32Array, y: Float32Array): 'none' | 'same' | 'partial' {
  if (x.buffer !== y.buffer || x.byteLength === 0 || y.byteLength === 0) return 'none';
  if (x.byteOffset === y.byteOffset && x.byteLength === y.byteLength) return 'same';
  const apart = x.byteOffset >= y.byteOffset + y.byteLength || y.byteOffset >= x.byteOffset + x.byteLength;
  return apart ? 'none' : 'partial';
}

function deviceOverlap(x: DeviceBuffer, y: DeviceBuffer): 'none' | 'same' {
  return x.__frugalDevicePtr === y.__frugalDevicePtr ? 'same' : 'none';
}

/**
 * Refuses an output that overlaps one of `inputs` in a way its sharing forbids.
 * @throws FrugalError E_RANGE (a forbidden overlap, naming both).
 * @internal
 */
export function checkApart(out: Tensor, name: string, inputs: readonly OutputInput[]): void {
  for (const [input, inputName, sharing] of inputs) {
    if (!input || input.device !== out.device) continue;
    const o = out.device === 'cuda' ? deviceOverlap(out.memory as DeviceBuffer, input.memory as DeviceBuffer) : overlap(out.data, input.data);
    if (o === 'none' || (o === 'same' && sharing === 'inPlace')) continue;
    const allowed = sharing === 'inPlace' ? `be ${inputName} itself or not overlap it` : `not share memory with ${inputName}`;
    throw new FrugalError('E_RANGE', `${name}: overlaps ${inputName}${o === 'partial' ? ' partly' : ''}; it must ${allowed}`);
  }
}

/**
 * @internal The caller's `out` tensor after checks (shape, device, overlap with
 * `inputs`), or a new zero tensor when none is given. Shared by the op families.
 * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (another shape), E_DEVICE (another device), E_RANGE (a forbidden overlap).
 */
export function outputTensor(out: unknown, name: string, shape: readonly number[], device: DeviceName, inputs: readonly OutputInput[]): Tensor {
  if (out === undefined) return zeros(shape.slice(), device);
  const t = checkTensor(out, name);
  checkDims(t, name, shape);
  if (t.device !== device) {
    throw new FrugalError('E_DEVICE', `${name}: expected a tensor on '${device}' like the inputs, got one on '${t.device}'`);
  }
  checkApart(t, name, inputs);
  return t;
}

/**
 * @internal Refuses a host tensor holding NaN or ±Inf, naming the first such element
 * (device tensors are not scanned: that would cost a copy). For module inputs and
 * parameters, where a non-finite value silently poisons every output.
 * @throws FrugalError E_RANGE (a non-finite element).
 */
export function checkFinite(t: Tensor, name: string): void {
  if (t.device !== 'cpu' || t.size === 0) return;
  const i = native<CoreNative>().firstNonFinite({ x: t.data });
  if (i >= 0) throw new FrugalError('E_RANGE', `${name}: expected finite values, got ${t.data[i]} at element ${i}`);
}
