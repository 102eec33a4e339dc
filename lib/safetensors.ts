// The safetensors file format (https://github.com/huggingface/safetensors):
//
//   [8 bytes]  N, the header length, an unsigned 64-bit little-endian integer
//   [N bytes]  a UTF-8 JSON object: {"<name>": {"dtype": "F32", "shape": [...],
//              "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}
//              (Frugal pads it with spaces so that N is a multiple of 8)
//   [rest]     the data: each tensor's little-endian bytes, offsets counted from here
//
// Reading checks the whole layout (offsets in range, every data byte owned by exactly
// one tensor, byte lengths matching the shapes and dtypes) before any data is copied.
// Every standard dtype passes the layout checks; F32, F16 and BF16 read as fp32
// tensors, and any dtype reads as its stored bytes (SafetensorsReader.readRaw), so a
// checkpoint can be copied through writeSafetensors without Frugal knowing its types.
import * as fs from 'node:fs';
import { FrugalError, describe } from './errors';
import { Tensor, MAX_ELEMENTS, allocate, checkShape, hostZeros } from './tensor';
import { writeFileAtomic } from './atomic_write';
import { checkOptions, isPlainObject, shapeText } from './validate';

/** Largest header (in bytes) read or written: 100 MB, the reference implementation's limit. */
export const MAX_HEADER_BYTES = 100_000_000;

/** The key of the header entry that holds the string metadata rather than a tensor. */
const METADATA_KEY = '__metadata__';

/** Frugal tensors have at most this many dimensions (see checkShape in tensor.ts). */
const MAX_RANK = 6;

/** Bytes per element of each dtype the format defines (a Map, so "constructor" is no dtype). */
const ELEMENT_BYTES: ReadonlyMap<string, number> = new Map([
  ['F64', 8], ['F32', 4], ['F16', 2], ['BF16', 2], ['I64', 8], ['I32', 4], ['I16', 2], ['I8', 1],
  ['U8', 1], ['BOOL', 1], ['U16', 2], ['U32', 4], ['U64', 8], ['F8_E4M3', 1], ['F8_E5M2', 1],
]);
const DTYPES = [...ELEMENT_BYTES.keys()].join(', ');

/** The dtypes read as fp32 tensors: each converts exactly. */
const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16']);

/** What {@link decodeSafetensors} and {@link loadSafetensors} return. */
export interface SafetensorsContents {
  /** The tensors by name, in the order the header lists them (CPU, fp32, each with its own memory). */
  tensors: Record<string, Tensor>;
  /** The header's `__metadata__` entries; `{}` when the file has none. */
  metadata: Record<string, string>;
}

/** One stored tensor as {@link SafetensorsReader.info} describes it. */
export interface SafetensorsTensorInfo {
  /** The stored dtype, as the header names it ("F32", "BF16", "I64", ...). */
  dtype: string;
  /** Dimensions, outermost first. */
  shape: number[];
  /** Bytes the tensor takes in the file. */
  byteLength: number;
}

/** One stored tensor's bytes, as {@link SafetensorsReader.readRaw} returns them. */
export interface SafetensorsRawTensor {
  dtype: string;
  shape: number[];
  /** The stored (little-endian) bytes, in memory of their own. */
  bytes: Uint8Array;
}

/**
 * An open safetensors file: the header is read and checked, the data is read by
 * offset when asked for, one tensor at a time. Call `close()` when done; every
 * method but `close()` then throws E_CONFIG (`names` and `metadata` stay readable).
 */
export interface SafetensorsReader {
  /** The path it was opened with. */
  readonly file: string;
  /** The tensor names, in header order. */
  readonly names: readonly string[];
  /** The header's `__metadata__` entries (frozen); `{}` when the file has none. */
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * A tensor's dtype, shape and stored size.
   * @throws FrugalError E_CONFIG (no such tensor, naming it and the file; the reader is closed), E_DTYPE (`name` not a string).
   */
  info(name: string): SafetensorsTensorInfo;
  /**
   * Whether the file holds a tensor `name`.
   * @throws FrugalError E_CONFIG (the reader is closed), E_DTYPE (`name` not a string).
   */
  has(name: string): boolean;
  /**
   * Reads a tensor as fp32 (CPU, memory of its own): F32 as stored, F16 and BF16
   * converted exactly (subnormals, infinities and NaN payloads kept).
   * @throws FrugalError E_CONFIG (no such tensor; another dtype, naming the tensor and dtype; a failed read; closed),
   *   E_DTYPE (`name` not a string), E_RANGE (the memory cannot be allocated).
   */
  read(name: string): Tensor;
  /**
   * Reads a tensor's stored bytes, of any dtype.
   * @throws FrugalError as {@link SafetensorsReader.read}, save that every dtype is read.
   */
  readRaw(name: string): SafetensorsRawTensor;
  /**
   * Closes the file; a second call does nothing.
   * @throws never.
   */
  close(): void;
}

/** A tensor for {@link writeSafetensors}, written as F32. */
export interface SafetensorsTensorEntry {
  name: string;
  tensor: Tensor;
}

/**
 * Stored bytes for {@link writeSafetensors}, written as they are. `bytes` may be a
 * function, called only when this entry is written (so a file can be streamed
 * through, one tensor in memory at a time).
 */
export interface SafetensorsRawEntry {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array | (() => Uint8Array);
  /** Checked when given, so that `{ name, ...reader.info(name), bytes }` is an entry. */
  byteLength?: number;
}

/** One entry of {@link writeSafetensors}. */
export type SafetensorsEntry = SafetensorsTensorEntry | SafetensorsRawEntry;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const utf8Encoder = new TextEncoder();

/** Sets `obj[key]` as an own data property, safe for keys such as "__proto__". */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Reverses the bytes of each `width`-byte word (only needed on big-endian hosts). */
function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

function checkFile(file: unknown): string {
  if (typeof file !== 'string' || file === '') {
    throw new FrugalError('E_DTYPE', `file: expected a non-empty file path, got ${describe(file)}`);
  }
  return file;
}

/** One tensor to write: its header fields, and its bytes, fetched only when they are written. */
interface Planned {
  name: string;
  dtype: string;
  shape: readonly number[];
  byteLength: number;
  bytes: () => Uint8Array;
}

/**
 * A Tensor as an F32 entry. A CPU tensor's memory is written as it is (on a
 * little-endian host) and checked now, so a detached one fails before any write;
 * a CUDA tensor is copied to the host only when written, one at a time.
 */
function tensorItem(name: string, t: unknown, label: string): Planned {
  if (!(t instanceof Tensor)) throw new FrugalError('E_DTYPE', `${label}: expected a Tensor, got ${describe(t)}`);
  const host = (): Float32Array => {
    try {
      return (t.device === 'cpu' ? t : t.to('cpu')).data;
    } catch (err) {
      if (err instanceof FrugalError) throw new FrugalError(err.code, `${label}: ${err.message}`);
      throw err;
    }
  };
  if (t.device === 'cpu') host();
  const bytes = (): Uint8Array => {
    const data = host();
    const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (LITTLE_ENDIAN) return view;
    const copy = view.slice();
    swapBytes(copy, 4);
    return copy;
  };
  return { name, dtype: 'F32', shape: t.shape, byteLength: t.size * 4, bytes };
}

/** Checks a tensor name for writing. */
function checkName(name: string, where: string): void {
  if (name === '') throw new FrugalError('E_RANGE', `${where}: expected non-empty tensor names, got ""`);
  if (name === METADATA_KEY) {
    throw new FrugalError('E_RANGE', `${where}: expected tensor names other than "${METADATA_KEY}" (the format reserves it for metadata), got "${METADATA_KEY}"`);
  }
}

/** Checks the `tensors` argument of encode/save. */
function checkTensors(tensors: unknown): Planned[] {
  if (!isPlainObject(tensors)) {
    throw new FrugalError('E_DTYPE', `tensors: expected an object mapping names to Tensors, got ${describe(tensors)}`);
  }
  return Object.keys(tensors).map((name) => {
    checkName(name, 'tensors');
    return tensorItem(name, tensors[name], `tensors[${JSON.stringify(name)}]`);
  });
}

const ENTRY_KEYS = ['name', 'tensor', 'dtype', 'shape', 'bytes', 'byteLength'];

/** Checks the `entries` argument of {@link writeSafetensors}. */
function checkEntries(entries: unknown): Planned[] {
  if (!Array.isArray(entries)) {
    throw new FrugalError('E_DTYPE', `entries: expected an array of { name, tensor } or { name, dtype, shape, bytes }, got ${describe(entries)}`);
  }
  const seen = new Set<string>();
  return entries.map((entry: unknown, i): Planned => {
    const at = `entries[${i}]`;
    if (!isPlainObject(entry)) {
      throw new FrugalError('E_DTYPE', `${at}: expected { name, tensor } or { name, dtype, shape, bytes }, got ${describe(entry)}`);
    }
    const e = checkOptions<SafetensorsTensorEntry & SafetensorsRawEntry>(entry, at, ENTRY_KEYS); // a misspelt key is an error
    const { name } = e;
    if (typeof name !== 'string') throw new FrugalError('E_DTYPE', `${at}.name: expected a string, got ${describe(name)}`);
    checkName(name, `${at}.name`);
    const label = `${at} (${JSON.stringify(name)})`;
    if (seen.has(name)) throw new FrugalError('E_RANGE', `${label}: the name is already taken by an earlier entry`);
    seen.add(name);

    if (e.tensor !== undefined) {
      if (e.dtype !== undefined || e.shape !== undefined || e.bytes !== undefined || e.byteLength !== undefined) {
        throw new FrugalError('E_DTYPE', `${label}: expected either a tensor or dtype, shape and bytes, got both`);
      }
      return tensorItem(name, e.tensor, `${label}.tensor`);
    }
    const { bytes } = e;
    const size = typeof e.dtype === 'string' ? ELEMENT_BYTES.get(e.dtype) : undefined;
    if (size === undefined) throw new FrugalError('E_DTYPE', `${label}.dtype: expected a safetensors dtype (${DTYPES}), got ${describe(e.dtype)}`);
    const dtype = e.dtype as string;
    const byteLength = checkShape(e.shape, `${label}.shape`) * size;
    const frozen = Object.freeze((e.shape as number[]).slice());
    if (e.byteLength !== undefined && e.byteLength !== byteLength) {
      throw new FrugalError('E_SHAPE', `${label}.byteLength: ${dtype} ${shapeText(frozen)} takes ${byteLength} bytes, got ${describe(e.byteLength)}`);
    }
    const checked = (b: unknown, what: string): Uint8Array => {
      if (!(b instanceof Uint8Array)) throw new FrugalError('E_DTYPE', `${what}: expected a Uint8Array, got ${describe(b)}`);
      if (b.length !== byteLength) {
        throw new FrugalError('E_SHAPE', `${what}: ${dtype} ${shapeText(frozen)} takes ${byteLength} bytes, got ${b.length}`);
      }
      return b;
    };
    if (typeof bytes === 'function') return { name, dtype, shape: frozen, byteLength, bytes: () => checked(bytes(), `${label}.bytes()`) };
    const given = checked(bytes, `${label}.bytes`);
    return { name, dtype, shape: frozen, byteLength, bytes: () => given };
  });
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
 * The file's first part: the 8-byte length and the header, `__metadata__` first
 * (only when there is some), then the tensors in order, their data contiguous;
 * padded with spaces to a multiple of 8 bytes.
 */
function buildHeader(meta: Array<[string, string]>, items: readonly Planned[]): Uint8Array {
  const parts: string[] = [];
  if (meta.length > 0) {
    const fields = meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"${METADATA_KEY}":{${fields.join(',')}}`);
  }
  let offset = 0;
  for (const { name, dtype, shape, byteLength } of items) {
    const end = offset + byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const text = `{${parts.join(',')}}`;
  // Measured before encoding, so an oversized header costs no second copy.
  const headerBytes = Math.ceil(Buffer.byteLength(text, 'utf8') / 8) * 8;
  if (headerBytes > MAX_HEADER_BYTES) {
    throw new FrugalError('E_RANGE', `metadata: the header would take ${headerBytes} bytes, more than the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const json = utf8Encoder.encode(text);
  const out = new Uint8Array(8 + headerBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length);
  return out;
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
  const items = checkTensors(tensors);
  const header = buildHeader(checkMetadata(metadata), items);
  const out = new Uint8Array(items.reduce((n, it) => n + it.byteLength, header.length));
  out.set(header);
  let pos = header.length;
  for (const it of items) {
    out.set(it.bytes(), pos);
    pos += it.byteLength;
  }
  return out;
}

/** The header, then each entry's bytes, as a streaming writer. */
function streamItems(meta: Array<[string, string]>, items: readonly Planned[]): (write: (chunk: Uint8Array) => void) => void {
  const header = buildHeader(meta, items);
  return (write) => {
    write(header);
    for (const it of items) write(it.bytes());
  };
}

/** Streams the header, then each entry's bytes, into an atomic write of `file`. */
function writeItems(file: string, meta: Array<[string, string]>, items: readonly Planned[]): void {
  writeFileAtomic(file, streamItems(meta, items), 'the safetensors file');
}

/**
 * The bytes {@link writeSafetensors} would write, as a function that streams them
 * through `write` when called: entries and metadata are checked now, `bytes`
 * functions run during the call. A job hands it to the runner's atomic writes.
 * @throws FrugalError as {@link writeSafetensors} (now for the checks, when called for the bytes).
 */
export function safetensorsStream(entries: readonly SafetensorsEntry[], metadata?: Record<string, string>): (write: (chunk: Uint8Array) => void) => void {
  return streamItems(checkMetadata(metadata), checkEntries(entries));
}

/**
 * Writes a safetensors file from `entries`, in their order: a `{ name, tensor }`
 * entry as F32, a `{ name, dtype, shape, bytes }` entry's bytes as they are. The
 * header (as {@link encodeSafetensors} lays it out) and then each entry's bytes are
 * streamed into a temporary file beside `file`, which is then renamed over it
 * (see {@link saveSafetensors}); the file as a whole is never in memory. A `bytes`
 * function is called once, when its entry is written, so a checkpoint opened with
 * {@link openSafetensors} can be copied through with
 * `bytes: () => reader.readRaw(name).bytes` (even onto the file being read: the
 * reader keeps the old file open). A failed write leaves no file behind.
 *
 * @param file - Path of the file to write (missing directories of the path are created).
 * @param entries - The tensors; names must be non-empty, unique and not `"__metadata__"`.
 * @param metadata - String values stored under `__metadata__`.
 * @throws FrugalError naming the entry: E_DTYPE for a bad `file`, `entries` not an array,
 *   an entry not an object (E_CONFIG for an unknown key) or with a bad field (a name not a
 *   string, an unknown dtype, `bytes` not a Uint8Array or function, not a Tensor, both a
 *   tensor and bytes); E_RANGE for an empty, reserved or repeated name, a shape of too many
 *   elements or a header over {@link MAX_HEADER_BYTES}; E_SHAPE for a bad shape, or bytes (or a
 *   `byteLength`) of another length than the shape and dtype take (for a `bytes` function, when it is called);
 *   E_DEVICE / E_SHAPE when a tensor's data cannot be read; any error a `bytes` function
 *   throws; E_CONFIG with the OS reason when the file cannot be written.
 * @example
 * const src = openSafetensors('bert.safetensors');
 * writeSafetensors('bert-tuned.safetensors', src.names.map((name) => name === 'pooler.dense.weight'
 *   ? { name, tensor: tuned }
 *   : { name, ...src.info(name), bytes: () => src.readRaw(name).bytes }), { ...src.metadata });
 * src.close();
 */
export function writeSafetensors(file: string, entries: readonly SafetensorsEntry[], metadata?: Record<string, string>): void {
  checkFile(file);
  const items = checkEntries(entries);
  writeItems(file, checkMetadata(metadata), items);
}

/**
 * Writes tensors (and optional string metadata) to `file` as safetensors, atomically:
 * an unpredictable temporary name beside it, opened exclusively without following
 * links, fsynced, then renamed; removed on error or SIGINT/SIGTERM. The bytes are
 * those of {@link encodeSafetensors}, streamed (see {@link writeSafetensors}).
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
  const items = checkTensors(tensors);
  writeItems(file, checkMetadata(metadata), items);
}

/** One tensor of a checked header. */
interface Entry {
  name: string;
  dtype: string;
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
    const size = ELEMENT_BYTES.get(dtype);
    if (size === undefined) throw new FrugalError('E_CONFIG', `${label}: dtype ${JSON.stringify(dtype)} is not a safetensors dtype (${DTYPES})`);

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
    const needed = count * BigInt(size);
    if (needed !== BigInt(end - begin)) {
      throw new FrugalError('E_CONFIG', `${label}: shape ${shapeText(shape)} needs ${needed} bytes of ${dtype}, data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    if (count > BigInt(MAX_ELEMENTS)) {
      throw new FrugalError('E_CONFIG', `${label}: shape ${shapeText(shape)} has ${count} elements, more than ${MAX_ELEMENTS}`);
    }
    entries.push({ name, dtype, shape: shape as number[], count: Number(count), begin, end });
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

/** Fills `dst` from absolute `position` of a file or of memory: one reading path serves both. */
type ReadAt = (dst: Uint8Array, position: number) => void;

/** A checked header, and where the data starts. */
interface Layout {
  entries: Entry[];
  metadata: Record<string, string>;
  dataStart: number;
}

/** Reads and checks the header of a `total`-byte file; `where` starts every message. */
function readLayout(readAt: ReadAt, total: number, where: string): Layout {
  const prefix = new Uint8Array(8);
  if (total >= 8) readAt(prefix, 0);
  const n = headerLength(prefix, total, where);
  const raw = new Uint8Array(n);
  readAt(raw, 8);
  return { ...parseHeader(raw, total - 8 - n, where), dataStart: 8 + n };
}

let f16Bits: Uint32Array | undefined;

/** The fp32 bit pattern of every half, built once: exact, NaN payloads kept. */
function f16Table(): Uint32Array {
  if (f16Bits) return f16Bits;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    let bits = 0; // ±0
    if (exp === 0x1f) bits = 0x7f800000 | (mant << 13); // infinity, NaN
    else if (exp !== 0) bits = ((exp + 127 - 15) << 23) | (mant << 13);
    else if (mant !== 0) {
      // A subnormal, mant·2^-24: shift the leading 1 up to the implicit bit, lowering the exponent from that of 2^-14.
      let e = 127 - 14;
      while (!(mant & 0x400)) {
        mant <<= 1;
        e--;
      }
      bits = (e << 23) | ((mant & 0x3ff) << 13);
    }
    table[h] = ((h & 0x8000) << 16) | bits;
  }
  return (f16Bits = table);
}

/** Elements converted per read: F16 and BF16 go through a small buffer, never a second whole copy. */
const CHUNK = 1 << 20;

/** Refuses a tensor whose dtype does not convert to fp32. */
function checkFloat(e: Entry, label: string): void {
  if (!FLOAT_DTYPES.has(e.dtype)) {
    throw new FrugalError('E_CONFIG', `${label}: dtype ${JSON.stringify(e.dtype)} cannot be read as fp32 (F32, F16 and BF16 can; readRaw gives any dtype's bytes)`);
  }
}

/** Reads tensor `e` as fp32. `label` names it in errors. */
function readFloats(readAt: ReadAt, dataStart: number, e: Entry, label: string): Float32Array {
  checkFloat(e, label);
  const out = hostZeros(e.count, label);
  const at = dataStart + e.begin;
  if (e.dtype === 'F32') {
    const bytes = new Uint8Array(out.buffer);
    readAt(bytes, at);
    if (!LITTLE_ENDIAN) swapBytes(bytes, 4);
    return out;
  }
  // fp32 bits through a Uint32Array view: exact, and NaN payloads survive.
  const bits = new Uint32Array(out.buffer);
  const scratch = new Uint8Array(Math.min(e.count, CHUNK) * 2);
  const halves = new Uint16Array(scratch.buffer);
  const table = e.dtype === 'F16' ? f16Table() : undefined;
  for (let i = 0; i < e.count; i += CHUNK) {
    const n = Math.min(CHUNK, e.count - i);
    const part = scratch.subarray(0, 2 * n);
    readAt(part, at + 2 * i);
    if (!LITTLE_ENDIAN) swapBytes(part, 2);
    if (table) for (let j = 0; j < n; j++) bits[i + j] = table[halves[j]];
    else for (let j = 0; j < n; j++) bits[i + j] = halves[j] << 16; // BF16 is the top half of an fp32
  }
  return out;
}

/** Every tensor of a checked file as fp32; any other dtype is refused before any data is read. */
function readAll(readAt: ReadAt, layout: Layout, where: string): SafetensorsContents {
  const label = (e: Entry) => `${where}: tensor ${JSON.stringify(e.name)}`;
  for (const e of layout.entries) checkFloat(e, label(e));
  const tensors: Record<string, Tensor> = {};
  for (const e of layout.entries) put(tensors, e.name, Tensor.from(readFloats(readAt, layout.dataStart, e, label(e)), e.shape));
  return { tensors, metadata: layout.metadata };
}

/**
 * Decodes a safetensors file image. F32, F16 and BF16 tensors are read as fp32
 * (F16 and BF16 converted exactly), each into its own (aligned) Float32Array, so
 * the result does not share `bytes`. The header may list the tensors in any
 * order and need not be padded.
 *
 * @param bytes - The whole file (a Buffer works too).
 * @returns The tensors (CPU) and the `__metadata__` strings.
 * @throws FrugalError E_DTYPE when `bytes` is not a Uint8Array; E_CONFIG for a tensor
 *   of another dtype (naming the tensor and dtype) and for a malformed file: too short,
 *   header length past the end or over {@link MAX_HEADER_BYTES}, invalid UTF-8 or JSON,
 *   missing or ill-typed fields, an unknown dtype, a shape that does not match its byte
 *   length, offsets out of range, overlapping, or leaving bytes that belong to no tensor;
 *   E_RANGE when a tensor's memory cannot be allocated.
 * @example
 * const { tensors, metadata } = decodeSafetensors(bytes);
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) throw new FrugalError('E_DTYPE', `bytes: expected a Uint8Array, got ${describe(bytes)}`);
  const readAt: ReadAt = (dst, position) => dst.set(bytes.subarray(position, position + dst.length));
  return readAll(readAt, readLayout(readAt, bytes.length, 'bytes'), 'bytes');
}

const cannotRead = (file: string, err: unknown): FrugalError =>
  new FrugalError('E_CONFIG', `${file}: cannot read the safetensors file (${(err as Error).message})`);

/** Reads exactly `dst.length` bytes of `fd` from `position`. */
function readFileAt(fd: number, dst: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < dst.length) {
    const want = Math.min(dst.length - done, 1 << 30);
    let got: number;
    try {
      got = fs.readSync(fd, dst, done, want, position + done);
    } catch (err) {
      throw cannotRead(file, err);
    }
    if (got === 0) throw new FrugalError('E_CONFIG', `${file}: the file ended early (did it change while being read?)`);
    done += got;
  }
}

/** Opens `file` and reads its checked header; the caller closes the fd. */
function openFile(file: string): { fd: number; readAt: ReadAt; layout: Layout } {
  checkFile(file);
  let fd: number;
  try {
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer forever;
    // the fstat below then refuses anything but a regular file.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw cannotRead(file, err);
  }
  try {
    let size: number;
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new Error('not a regular file');
      size = stat.size;
    } catch (err) {
      throw cannotRead(file, err);
    }
    const readAt: ReadAt = (dst, position) => readFileAt(fd, dst, position, file);
    return { fd, readAt, layout: readLayout(readAt, size, file) };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * Reads a safetensors file. Checks and converts as {@link decodeSafetensors} does,
 * naming the file in every error; reads the header first and then each tensor
 * straight into its own Float32Array, so the file is never held in memory whole.
 * For one tensor at a time, or other dtypes, use {@link openSafetensors}.
 *
 * @param file - Path of the file to read.
 * @returns The tensors (CPU) and the `__metadata__` strings.
 * @throws FrugalError E_DTYPE for a bad `file` argument; E_CONFIG with the OS reason
 *   when the file cannot be read, for a malformed file and for a tensor other than
 *   F32, F16 or BF16; E_RANGE when a tensor's memory cannot be allocated.
 * @example
 * const { tensors } = loadSafetensors('adapter.safetensors');
 */
export function loadSafetensors(file: string): SafetensorsContents {
  const { fd, readAt, layout } = openFile(file);
  try {
    return readAll(readAt, layout, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** Closes the fd of a reader that was dropped without close(), so a forgotten one does not leak it. */
const unclosed = new FinalizationRegistry<number>((fd) => fs.close(fd, () => {}));

class Reader implements SafetensorsReader {
  readonly names: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  private fd: number | undefined;
  private readonly byName: Map<string, Entry>;

  constructor(
    readonly file: string,
    fd: number,
    private readonly readAt: ReadAt,
    private readonly dataStart: number,
    layout: Layout,
  ) {
    this.fd = fd;
    this.byName = new Map(layout.entries.map((e) => [e.name, e]));
    this.names = Object.freeze(layout.entries.map((e) => e.name));
    this.metadata = Object.freeze(layout.metadata);
    unclosed.register(this, fd, this);
  }

  private checkOpen(name: unknown, method: string): string {
    if (this.fd === undefined) throw new FrugalError('E_CONFIG', `${this.file}: ${method}(): the safetensors reader is closed`);
    if (typeof name !== 'string') throw new FrugalError('E_DTYPE', `name: expected a tensor name (a string), got ${describe(name)}`);
    return name;
  }

  private entry(name: unknown, method: string): Entry {
    const e = this.byName.get(this.checkOpen(name, method));
    if (!e) throw new FrugalError('E_CONFIG', `${this.file}: no tensor ${JSON.stringify(name)} in the safetensors file`);
    return e;
  }

  private label(e: Entry): string {
    return `${this.file}: tensor ${JSON.stringify(e.name)}`;
  }

  has(name: string): boolean {
    return this.byName.has(this.checkOpen(name, 'has'));
  }

  info(name: string): SafetensorsTensorInfo {
    const e = this.entry(name, 'info');
    return { dtype: e.dtype, shape: e.shape.slice(), byteLength: e.end - e.begin };
  }

  read(name: string): Tensor {
    const e = this.entry(name, 'read');
    return Tensor.from(readFloats(this.readAt, this.dataStart, e, this.label(e)), e.shape);
  }

  readRaw(name: string): SafetensorsRawTensor {
    const e = this.entry(name, 'readRaw');
    const n = e.end - e.begin;
    const bytes = allocate(n, this.label(e), () => new Uint8Array(n));
    this.readAt(bytes, this.dataStart + e.begin);
    return { dtype: e.dtype, shape: e.shape.slice(), bytes };
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    unclosed.unregister(this);
    fs.closeSync(fd);
  }
}

/**
 * Opens a safetensors file for reading one tensor at a time: the header is read
 * and checked as {@link loadSafetensors} checks it (every standard dtype passes),
 * the file stays open, and each tensor's data is read by offset only when asked
 * for, so a checkpoint of hundreds of MB is never in memory twice. Close it when done.
 *
 * @param file - Path of the file to read (a regular file).
 * @returns The open reader.
 * @throws FrugalError E_DTYPE for a bad `file` argument; E_CONFIG with the OS reason
 *   when the file cannot be read, and for a malformed header or layout (as {@link decodeSafetensors}).
 * @example
 * const st = openSafetensors('bert-base.safetensors');
 * try {
 *   const w = st.read('encoder.layer.0.attention.self.query.weight'); // F16/BF16 become fp32
 * } finally {
 *   st.close();
 * }
 */
export function openSafetensors(file: string): SafetensorsReader {
  const { fd, readAt, layout } = openFile(file);
  return new Reader(file, fd, readAt, layout.dataStart, layout);
}
