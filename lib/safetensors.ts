// The safetensors file format (https://github.com/huggingface/safetensors), fp32 only:
//
//   [8 bytes]  N, the header length, an unsigned 64-bit little-endian integer
//   [N bytes]  a UTF-8 JSON object: {"<name>": {"dtype": "F32", "shape": [...],
//              "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}
//              (Frugal pads it with spaces so that N is a multiple of 8)
//   [rest]     the data: each tensor's little-endian bytes, offsets counted from here
//
// Reading checks the whole layout (offsets in range, every data byte owned by exactly
// one tensor, byte lengths matching the shapes) before any data is copied.
import * as fs from 'node:fs';
import { FrugalError, describe } from './errors';
import { Tensor, MAX_ELEMENTS } from './tensor';
import { writeFileAtomic } from './atomic_write';
import { isPlainObject, shapeText } from './validate';

/** Largest header (in bytes) read or written: 100 MB, the reference implementation's limit. */
export const MAX_HEADER_BYTES = 100_000_000;

/** The key of the header entry that holds the string metadata rather than a tensor. */
const METADATA_KEY = '__metadata__';

/** Frugal tensors have at most this many dimensions (see checkShape in tensor.ts). */
const MAX_RANK = 6;

/** What {@link decodeSafetensors} and {@link loadSafetensors} return. */
export interface SafetensorsContents {
  /** The tensors by name, in the order the header lists them (CPU, fp32, each with its own memory). */
  tensors: Record<string, Tensor>;
  /** The header's `__metadata__` entries; `{}` when the file has none. */
  metadata: Record<string, string>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const utf8Encoder = new TextEncoder();

/** Sets `obj[key]` as an own data property, safe for keys such as "__proto__". */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Reverses the bytes of each 4-byte word (only needed on big-endian hosts). */
function swap32(bytes: Uint8Array): void {
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const a = bytes[i];
    const b = bytes[i + 1];
    bytes[i] = bytes[i + 3];
    bytes[i + 1] = bytes[i + 2];
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}

function checkFile(file: unknown): string {
  if (typeof file !== 'string' || file === '') {
    throw new FrugalError('E_DTYPE', `file: expected a non-empty file path, got ${describe(file)}`);
  }
  return file;
}

interface Named {
  name: string;
  data: Float32Array;
  shape: readonly number[];
}

/** Checks the `tensors` argument and brings every tensor's data to the host. */
function checkTensors(tensors: unknown): Named[] {
  if (!isPlainObject(tensors)) {
    throw new FrugalError('E_DTYPE', `tensors: expected an object mapping names to Tensors, got ${describe(tensors)}`);
  }
  const out: Named[] = [];
  for (const name of Object.keys(tensors)) {
    const label = `tensors[${JSON.stringify(name)}]`;
    if (name === '') throw new FrugalError('E_RANGE', `tensors: expected non-empty tensor names, got ""`);
    if (name === METADATA_KEY) {
      throw new FrugalError('E_RANGE', `tensors: expected tensor names other than "${METADATA_KEY}" (the format reserves it for metadata), got "${METADATA_KEY}"`);
    }
    const t = tensors[name];
    if (!(t instanceof Tensor)) throw new FrugalError('E_DTYPE', `${label}: expected a Tensor, got ${describe(t)}`);
    let data: Float32Array;
    try {
      data = (t.device === 'cpu' ? t : t.to('cpu')).data;
    } catch (err) {
      if (err instanceof FrugalError) throw new FrugalError(err.code, `${label}: ${err.message}`);
      throw err;
    }
    out.push({ name, data, shape: t.shape });
  }
  return out;
}

/** Checks the `metadata` argument; returns its entries. */
function checkMetadata(metadata: unknown): Array<[string, string]> {
  if (metadata === undefined) return [];
  if (!isPlainObject(metadata)) {
    throw new FrugalError('E_DTYPE', `metadata: expected an object of string values, got ${describe(metadata)}`);
  }
  return Object.keys(metadata).map((key) => {
    const value = metadata[key];
    if (typeof value !== 'string') {
      throw new FrugalError('E_DTYPE', `metadata[${JSON.stringify(key)}]: expected a string, got ${describe(value)}`);
    }
    return [key, value];
  });
}

/**
 * Encodes tensors (and optional string metadata) as a safetensors file image.
 *
 * The header lists `__metadata__` first (only when `metadata` has entries), then
 * the tensors as dtype `F32`, in the object's key order; their data follows in
 * the same order, contiguous, little-endian. The header is padded with spaces
 * to a multiple of 8 bytes. A CUDA tensor is copied to the host with `.to('cpu')`.
 *
 * @param tensors - Tensors by name: names must be non-empty and not `"__metadata__"`.
 * @param metadata - String values stored under `__metadata__`.
 * @returns The file's bytes.
 * @throws FrugalError E_DTYPE when `tensors` is not an object of Tensors or a metadata
 *   value is not a string; E_RANGE for an empty or reserved name or a header over
 *   {@link MAX_HEADER_BYTES}; E_DEVICE / E_SHAPE (prefixed with the tensor's name)
 *   when a tensor's data cannot be read.
 * @example
 * const bytes = encodeSafetensors({ w: Tensor.from([1, 2, 3, 4], [2, 2]) }, { format: 'pt' });
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = checkTensors(tensors);
  const meta = checkMetadata(metadata);

  const parts: string[] = [];
  if (meta.length > 0) {
    const fields = meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"${METADATA_KEY}":{${fields.join(',')}}`);
  }
  let dataBytes = 0;
  for (const { name, data, shape } of entries) {
    const end = dataBytes + data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"F32","shape":[${shape.join(',')}],"data_offsets":[${dataBytes},${end}]}`);
    dataBytes = end;
  }
  const text = `{${parts.join(',')}}`;
  // Measured before encoding, so an oversized header costs no second copy.
  const headerBytes = Math.ceil(Buffer.byteLength(text, 'utf8') / 8) * 8;
  if (headerBytes > MAX_HEADER_BYTES) {
    throw new FrugalError('E_RANGE', `metadata: the header would take ${headerBytes} bytes, more than the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const json = utf8Encoder.encode(text);

  const out = new Uint8Array(8 + headerBytes + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  let pos = 8 + headerBytes;
  for (const { data } of entries) {
    const dst = out.subarray(pos, pos + data.byteLength);
    dst.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (!LITTLE_ENDIAN) swap32(dst);
    pos += data.byteLength;
  }
  return out;
}

/** One tensor of a checked header. */
interface Entry {
  name: string;
  shape: number[];
  count: number;
  begin: number;
  end: number;
}

/** Reads and checks the header length from the first 8 bytes of a `total`-byte file. */
function headerLength(prefix: Uint8Array, total: number, where: string): number {
  if (total < 8) {
    throw new FrugalError('E_CONFIG', `${where}: too short for a safetensors file (${total} bytes; the header length alone takes 8)`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new FrugalError('E_CONFIG', `${where}: header length ${n} is more than the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  }
  if (8n + n > BigInt(total)) {
    throw new FrugalError('E_CONFIG', `${where}: header length ${n} runs past the end of the file (${total} bytes in all)`);
  }
  return Number(n);
}

function checkOffset(value: unknown, label: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new FrugalError('E_CONFIG', `${label}: expected a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

/** Parses and checks a header against a data section of `dataBytes` bytes. */
function parseHeader(raw: Uint8Array, dataBytes: number, where: string): { entries: Entry[]; metadata: Record<string, string> } {
  let text: string;
  try {
    // TextDecoder refuses views of shared memory.
    const view = raw.buffer instanceof ArrayBuffer ? raw : raw.slice();
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(view);
  } catch {
    throw new FrugalError('E_CONFIG', `${where}: the header is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw new FrugalError('E_CONFIG', `${where}: the header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(header)) throw new FrugalError('E_CONFIG', `${where}: expected the header to be a JSON object, got ${describe(header)}`);

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const name of Object.keys(header)) {
    const info = header[name];
    if (name === METADATA_KEY) {
      if (info === null) continue;
      if (!isPlainObject(info)) throw new FrugalError('E_CONFIG', `${where}: "${METADATA_KEY}": expected an object of string values, got ${describe(info)}`);
      for (const key of Object.keys(info)) {
        const value = info[key];
        if (typeof value !== 'string') {
          throw new FrugalError('E_CONFIG', `${where}: "${METADATA_KEY}"[${JSON.stringify(key)}]: expected a string, got ${describe(value)}`);
        }
        put(metadata, key, value);
      }
      continue;
    }
    const label = `${where}: tensor ${JSON.stringify(name)}`;
    if (name === '') throw new FrugalError('E_CONFIG', `${label}: expected a non-empty tensor name`);
    if (!isPlainObject(info)) throw new FrugalError('E_CONFIG', `${label}: expected an object with dtype, shape and data_offsets, got ${describe(info)}`);

    const { dtype, shape, data_offsets: offsets } = info;
    if (dtype === undefined) throw new FrugalError('E_CONFIG', `${label}: the dtype field is missing`);
    if (typeof dtype !== 'string') throw new FrugalError('E_CONFIG', `${label}: dtype: expected a string, got ${describe(dtype)}`);
    if (dtype !== 'F32') throw new FrugalError('E_DTYPE', `${label}: dtype ${JSON.stringify(dtype)} is not supported (Frugal reads F32 only)`);

    if (shape === undefined) throw new FrugalError('E_CONFIG', `${label}: the shape field is missing`);
    if (!Array.isArray(shape)) throw new FrugalError('E_CONFIG', `${label}: shape: expected an array of dimensions, got ${describe(shape)}`);
    if (shape.length > MAX_RANK) {
      throw new FrugalError('E_CONFIG', `${label}: shape: expected at most ${MAX_RANK} dimensions (Frugal's limit), got ${shape.length}`);
    }
    let count = 1n;
    shape.forEach((d, i) => (count *= BigInt(checkOffset(d, `${label}: shape[${i}]`))));

    if (offsets === undefined) throw new FrugalError('E_CONFIG', `${label}: the data_offsets field is missing`);
    if (!Array.isArray(offsets) || offsets.length !== 2) {
      throw new FrugalError('E_CONFIG', `${label}: data_offsets: expected an array [begin, end], got ${describe(offsets)}`);
    }
    const begin = checkOffset(offsets[0], `${label}: data_offsets[0]`);
    const end = checkOffset(offsets[1], `${label}: data_offsets[1]`);
    if (begin > end || end > dataBytes) {
      throw new FrugalError('E_CONFIG', `${label}: data_offsets [${begin}, ${end}] out of range: expected begin <= end <= ${dataBytes} (the data's length)`);
    }
    if (count * 4n !== BigInt(end - begin)) {
      throw new FrugalError('E_CONFIG', `${label}: shape ${shapeText(shape)} needs ${count * 4n} bytes of F32, data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    if (count > BigInt(MAX_ELEMENTS)) {
      throw new FrugalError('E_CONFIG', `${label}: shape ${shapeText(shape)} has ${count} elements, more than ${MAX_ELEMENTS}`);
    }
    entries.push({ name, shape: shape as number[], count: Number(count), begin, end });
  }

  // Every data byte must belong to exactly one tensor: walk the tensors by offset.
  const byOffset = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: Entry | undefined;
  for (const e of byOffset) {
    const label = `${where}: tensor ${JSON.stringify(e.name)}`;
    if (e.begin < cursor) {
      throw new FrugalError('E_CONFIG', `${label}: data_offsets [${e.begin}, ${e.end}] overlap tensor ${JSON.stringify(prev!.name)} at [${prev!.begin}, ${prev!.end}]`);
    }
    if (e.begin > cursor) {
      throw new FrugalError('E_CONFIG', `${label}: data_offsets [${e.begin}, ${e.end}] leave a hole: data bytes [${cursor}, ${e.begin}) belong to no tensor`);
    }
    cursor = e.end;
    prev = e;
  }
  if (cursor !== dataBytes) {
    const after = prev ? ` after tensor ${JSON.stringify(prev.name)}` : '';
    throw new FrugalError('E_CONFIG', `${where}: data bytes [${cursor}, ${dataBytes})${after} belong to no tensor`);
  }
  return { entries, metadata };
}

/**
 * Decodes a safetensors file image. Only `F32` tensors are read; each is copied
 * into its own (aligned) Float32Array, so the result does not share `bytes`.
 * The header may list the tensors in any order and need not be padded.
 *
 * @param bytes - The whole file (a Buffer works too).
 * @returns The tensors (CPU) and the `__metadata__` strings.
 * @throws FrugalError E_DTYPE when `bytes` is not a Uint8Array or a tensor's dtype is
 *   not F32 (naming the tensor and dtype); E_CONFIG for a malformed file: too short,
 *   header length past the end or over {@link MAX_HEADER_BYTES}, invalid UTF-8 or JSON,
 *   missing or ill-typed fields, a shape that does not match its byte length, offsets
 *   out of range, overlapping, or leaving bytes that belong to no tensor.
 * @example
 * const { tensors, metadata } = decodeSafetensors(bytes);
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) throw new FrugalError('E_DTYPE', `bytes: expected a Uint8Array, got ${describe(bytes)}`);
  const n = headerLength(bytes, bytes.length, 'bytes');
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, 'bytes');
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const data = new Float32Array(e.count);
    const dst = new Uint8Array(data.buffer);
    dst.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    if (!LITTLE_ENDIAN) swap32(dst);
    put(tensors, e.name, Tensor.from(data, e.shape));
  }
  return { tensors, metadata };
}

/**
 * Writes tensors (and optional string metadata) to `file` as safetensors, atomically
 * (a temporary file beside it, then a rename). The bytes are those of {@link encodeSafetensors}.
 *
 * @param file - Path of the file to write (missing directories of the path are created).
 * @param tensors - Tensors by name, as for {@link encodeSafetensors}.
 * @param metadata - String values stored under `__metadata__`.
 * @throws FrugalError as {@link encodeSafetensors}; E_DTYPE for a bad `file`; E_CONFIG
 *   with the OS reason when the file cannot be written.
 * @example
 * saveSafetensors('adapter.safetensors', { 'lora.A': a, 'lora.B': b }, { rank: '8' });
 */
export function saveSafetensors(file: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  checkFile(file);
  const bytes = encodeSafetensors(tensors, metadata);
  writeFileAtomic(file, bytes, 'the safetensors file');
}

/** Reads exactly `dst.length` bytes of `fd` from `position`. */
function readAt(fd: number, dst: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < dst.length) {
    const want = Math.min(dst.length - done, 1 << 30);
    let got: number;
    try {
      got = fs.readSync(fd, dst, done, want, position + done);
    } catch (err) {
      throw new FrugalError('E_CONFIG', `${file}: cannot read the safetensors file (${(err as Error).message})`);
    }
    if (got === 0) throw new FrugalError('E_CONFIG', `${file}: the file ended early (did it change while being read?)`);
    done += got;
  }
}

/**
 * Reads a safetensors file. Checks as {@link decodeSafetensors} does, naming the file
 * in every error; reads the header first and then each tensor straight into its own
 * Float32Array, so the file is never held in memory whole.
 *
 * @param file - Path of the file to read.
 * @returns The tensors (CPU) and the `__metadata__` strings.
 * @throws FrugalError E_DTYPE for a bad `file` argument or a non-F32 tensor; E_CONFIG
 *   with the OS reason when the file cannot be read, and for a malformed file.
 * @example
 * const { tensors } = loadSafetensors('adapter.safetensors');
 */
export function loadSafetensors(file: string): SafetensorsContents {
  checkFile(file);
  let fd: number;
  try {
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer forever;
    // the fstat below then refuses anything but a regular file.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new FrugalError('E_CONFIG', `${file}: cannot read the safetensors file (${(err as Error).message})`);
  }
  try {
    let size: number;
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new Error('not a regular file');
      size = stat.size;
    } catch (err) {
      throw new FrugalError('E_CONFIG', `${file}: cannot read the safetensors file (${(err as Error).message})`);
    }
    const prefix = new Uint8Array(8);
    if (size >= 8) readAt(fd, prefix, 0, file);
    const n = headerLength(prefix, size, file);
    const raw = new Uint8Array(n);
    readAt(fd, raw, 8, file);
    const dataStart = 8 + n;
    const { entries, metadata } = parseHeader(raw, size - dataStart, file);
    const tensors: Record<string, Tensor> = {};
    for (const e of entries) {
      const data = new Float32Array(e.count);
      const dst = new Uint8Array(data.buffer);
      readAt(fd, dst, dataStart + e.begin, file);
      if (!LITTLE_ENDIAN) swap32(dst);
      put(tensors, e.name, Tensor.from(data, e.shape));
    }
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}
