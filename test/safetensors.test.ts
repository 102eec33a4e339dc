// safetensors: round trips, a byte-exact file built by hand, a foreign-style file
// (unpadded header, tensors listed out of offset order) and every bad input; then the
// lazy reader (F16/BF16 conversion, every dtype's layout, raw bytes) and the streaming
// writer (copying checkpoints through, refusing bad entries, failing without a trace).
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FrugalError, Tensor } from '../lib';
import {
  decodeSafetensors, encodeSafetensors, loadSafetensors, openSafetensors, saveSafetensors, writeSafetensors, MAX_HEADER_BYTES,
  type SafetensorsEntry,
} from '../lib/safetensors';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-st-'));
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** 8-byte LE header length + header text (as given, no padding added) + data bytes. */
function build(header: string | object, data: number[] | Uint8Array = [], lengthOverride?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const body = data instanceof Uint8Array ? data : new Uint8Array(new Float32Array(data).buffer);
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function sameTensor(t: ExecutionContext, got: Tensor, want: Tensor, name: string) {
  t.deepEqual([...got.shape], [...want.shape], `${name} shape`);
  t.deepEqual(Array.from(got.data), Array.from(want.data), `${name} data`);
}

test('round trip: awkward shapes, special values and metadata', (t) => {
  const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 43758.5453);
  const tensors: Record<string, Tensor> = {
    scalar: Tensor.from([3.25], []),
    empty: Tensor.from(new Float32Array(0), [0, 3]),
    'layers.0.weight': Tensor.from(rnd(7 * 5), [7, 5]),
    odd: Tensor.from(rnd(3 * 1 * 2 * 1 * 1 * 3), [3, 1, 2, 1, 1, 3]),
    special: Tensor.from(new Float32Array([NaN, Infinity, -Infinity, -0, 1e-45, 3.4028234663852886e38]), [6]),
    'ünïcode ✓': Tensor.from([1, 2], [1, 2]),
  };
  // A view into the middle of a larger buffer must be written from its own offset.
  const big = rnd(20);
  tensors.view = Tensor.from(big.subarray(3, 9), [2, 3]);
  const metadata = { format: 'pt', note: 'quotes " and \\ and ünïcode', empty: '' };
  const bytes = encodeSafetensors(tensors, metadata);
  t.is(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0, 'header padded to a multiple of 8');
  const back = decodeSafetensors(bytes);
  t.deepEqual(Object.keys(back.tensors), Object.keys(tensors));
  for (const name of Object.keys(tensors)) sameTensor(t, back.tensors[name], tensors[name], name);
  t.true(Object.is(back.tensors.special.data[3], -0));
  t.deepEqual(back.metadata, metadata);
  t.is(back.tensors.scalar.size, 1);
  t.is(back.tensors.empty.size, 0);
  // Decoded data is copied into aligned arrays of its own, even from an odd offset.
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const again = decodeSafetensors(shifted.subarray(1));
  sameTensor(t, again.tensors['layers.0.weight'], tensors['layers.0.weight'], 'shifted');
  t.is(again.tensors.view.data.byteOffset, 0);
  shifted.fill(0);
  t.is(again.tensors.scalar.data[0], 3.25);

  // No metadata: none written, {} read back; no tensors at all is a valid file too.
  t.deepEqual(decodeSafetensors(encodeSafetensors({ a: Tensor.from([1], [1]) })).metadata, {});
  const none = decodeSafetensors(encodeSafetensors({}));
  t.deepEqual(none, { tensors: {}, metadata: {} });
});

test('a "__proto__" name is an ordinary tensor name', (t) => {
  const tensors = JSON.parse('{"__proto__": 0}') as Record<string, unknown>;
  Object.defineProperty(tensors, '__proto__', { value: Tensor.from([7], [1]), enumerable: true });
  const back = decodeSafetensors(encodeSafetensors(tensors as Record<string, Tensor>, JSON.parse('{"__proto__": "m"}')));
  t.true(Object.prototype.hasOwnProperty.call(back.tensors, '__proto__'));
  t.is(Object.getPrototypeOf(back.tensors), Object.prototype);
  t.is((back.tensors as Record<string, Tensor>)['__proto__'].data[0], 7);
  t.is((back.metadata as Record<string, string>)['__proto__'], 'm');
});

test('byte-exact against a file computed by hand', (t) => {
  const bytes = encodeSafetensors(
    { a: Tensor.from([1, -2], [2]), b: Tensor.from([0.5], []) },
    { format: 'pt' },
  );
  const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}';
  t.is(json.length, 138);
  const expected = [
    144, 0, 0, 0, 0, 0, 0, 0, // header length 144 = 138 rounded up to a multiple of 8, u64 LE
    ...Array.from(json, (c) => c.charCodeAt(0)),
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, // 6 spaces of padding
    0x00, 0x00, 0x80, 0x3f, // 1.0  = 0x3f800000
    0x00, 0x00, 0x00, 0xc0, // -2.0 = 0xc0000000
    0x00, 0x00, 0x00, 0x3f, // 0.5  = 0x3f000000
  ];
  t.is(expected.length, 8 + 144 + 12);
  t.deepEqual(Array.from(bytes), expected);
  // An empty file: "{}" and 6 spaces.
  t.deepEqual(Array.from(encodeSafetensors({})), [8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
});

test('decodes an unpadded header whose tensors are listed out of offset order', (t) => {
  const header = '{"second":{"dtype":"F32","shape":[2,1],"data_offsets":[12,20]},"__metadata__":{"k":"v"},"first":{"data_offsets":[0,12],"shape":[3],"dtype":"F32"},"none":{"dtype":"F32","shape":[0],"data_offsets":[20,20]}}';
  t.not(header.length % 8, 0, 'the header is not padded');
  const got = decodeSafetensors(build(header, [1, 2, 3, 4, 5]));
  t.deepEqual(Object.keys(got.tensors), ['second', 'first', 'none']);
  t.deepEqual([...got.tensors.first.shape], [3]);
  t.deepEqual(Array.from(got.tensors.first.data), [1, 2, 3]);
  t.deepEqual([...got.tensors.second.shape], [2, 1]);
  t.deepEqual(Array.from(got.tensors.second.data), [4, 5]);
  t.is(got.tensors.none.size, 0);
  t.deepEqual(got.metadata, { k: 'v' });
  // Re-encoding lays the tensors out in the listed order.
  const re = decodeSafetensors(encodeSafetensors(got.tensors, got.metadata));
  t.deepEqual(Array.from(re.tensors.second.data), [4, 5]);
  // Also a Buffer (Uint8Array subclass), and "__metadata__": null.
  const withNull = Buffer.from(build('{"__metadata__":null,"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', [9]));
  t.deepEqual(decodeSafetensors(withNull).metadata, {});
});

test('save and load through a file', (t) => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'sub', 'model.safetensors');
    const tensors = { w: Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]), s: Tensor.from([-1], []), z: Tensor.from(new Float32Array(0), [0, 3]) };
    saveSafetensors(file, tensors, { step: '10' });
    t.deepEqual(new Uint8Array(fs.readFileSync(file)), encodeSafetensors(tensors, { step: '10' }));
    t.deepEqual(fs.readdirSync(path.dirname(file)), ['model.safetensors'], 'no temporary file left');
    const back = loadSafetensors(file);
    for (const [name, want] of Object.entries(tensors)) sameTensor(t, back.tensors[name], want, name);
    t.deepEqual(back.metadata, { step: '10' });
    // A hand-built, unpadded, out-of-order file loads too.
    const other = path.join(dir, 'other.safetensors');
    fs.writeFileSync(other, build('{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', [10, 20]));
    const o = loadSafetensors(other);
    t.is(o.tensors.a.data[0], 10);
    t.is(o.tensors.b.data[0], 20);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function throwsFrugal(t: ExecutionContext, fn: () => unknown, code: string, message: RegExp, note: string) {
  t.throws(fn, { instanceOf: FrugalError, code, message }, note);
}

test('bad arguments give FrugalError naming the argument', (t) => {
  const ok = Tensor.from([1], [1]);
  const cases: Array<[() => unknown, string, RegExp]> = [
    [() => encodeSafetensors(null as never), 'E_DTYPE', /^tensors: expected an object mapping names to Tensors, got null/],
    [() => encodeSafetensors([ok] as never), 'E_DTYPE', /^tensors: .* got an array of length 1/],
    [() => encodeSafetensors(ok as never), 'E_DTYPE', /^tensors: .* got a Tensor/],
    [() => encodeSafetensors(new Map([['a', ok]]) as never), 'E_DTYPE', /^tensors: .* got a Map/],
    [() => encodeSafetensors('a' as never), 'E_DTYPE', /^tensors: .* got "a"/],
    [() => encodeSafetensors({ '': ok }), 'E_RANGE', /^tensors: expected non-empty tensor names, got ""/],
    [() => encodeSafetensors({ __metadata__: ok }), 'E_RANGE', /^tensors: expected tensor names other than "__metadata__".*got "__metadata__"/],
    [() => encodeSafetensors({ a: ok, b: [1, 2] as never }), 'E_DTYPE', /^tensors\["b"\]: expected a Tensor, got an array of length 2/],
    [() => encodeSafetensors({ a: new Float32Array(2) as never }), 'E_DTYPE', /^tensors\["a"\]: expected a Tensor, got a Float32Array of length 2/],
    [() => encodeSafetensors({ a: undefined as never }), 'E_DTYPE', /^tensors\["a"\]: expected a Tensor, got undefined/],
    [() => encodeSafetensors({ a: ok }, null as never), 'E_DTYPE', /^metadata: expected an object of string values, got null/],
    [() => encodeSafetensors({ a: ok }, 'x' as never), 'E_DTYPE', /^metadata: .* got "x"/],
    [() => encodeSafetensors({ a: ok }, { n: 3 } as never), 'E_DTYPE', /^metadata\["n"\]: expected a string, got 3/],
    [() => encodeSafetensors({ a: ok }, { n: null } as never), 'E_DTYPE', /^metadata\["n"\]: expected a string, got null/],
    [() => encodeSafetensors({ a: ok }, { big: 'x'.repeat(MAX_HEADER_BYTES) }), 'E_RANGE', /^metadata: the header would take \d+ bytes, more than the 100000000-byte limit/],
    [() => decodeSafetensors([1, 2, 3] as never), 'E_DTYPE', /^bytes: expected a Uint8Array, got an array of length 3/],
    [() => decodeSafetensors(new Float32Array(4) as never), 'E_DTYPE', /^bytes: expected a Uint8Array, got a Float32Array/],
    [() => decodeSafetensors(undefined as never), 'E_DTYPE', /^bytes: expected a Uint8Array, got undefined/],
    [() => saveSafetensors(3 as never, { a: ok }), 'E_DTYPE', /^file: expected a non-empty file path, got 3/],
    [() => saveSafetensors('', { a: ok }), 'E_DTYPE', /^file: expected a non-empty file path, got ""/],
    [() => loadSafetensors(undefined as never), 'E_DTYPE', /^file: expected a non-empty file path, got undefined/],
  ];
  for (const [fn, code, message] of cases) throwsFrugal(t, fn, code, message, String(message));

  // A tensor whose buffer was detached after it was made.
  const data = new Float32Array(4);
  const detached = Tensor.from(data, [4]);
  structuredClone(data.buffer, { transfer: [data.buffer] });
  throwsFrugal(t, () => encodeSafetensors({ d: detached }), 'E_SHAPE', /^tensors\["d"\]: tensor\.data: .*detached/, 'detached');
});

const f32 = (shape: unknown, offsets: unknown, dtype: unknown = 'F32') => ({ dtype, shape, data_offsets: offsets });

test('malformed files and dtypes other than F32/F16/BF16 give E_CONFIG naming the tensor', (t) => {
  const long = (n: bigint) => build('{}', [], n);
  const cases: Array<[Uint8Array, string, RegExp]> = [
    [new Uint8Array(0), 'E_CONFIG', /too short .*\(0 bytes/],
    [new Uint8Array(7), 'E_CONFIG', /too short .*\(7 bytes/],
    [long(3n), 'E_CONFIG', /header length 3 runs past the end of the file \(10 bytes/],
    [long(100_000_001n), 'E_CONFIG', /header length 100000001 is more than the 100000000-byte limit/],
    [long(0xffffffffffffffffn), 'E_CONFIG', /header length 18446744073709551615 is more than/],
    [build(''), 'E_CONFIG', /the header is not valid JSON/],
    [build('{"a":'), 'E_CONFIG', /the header is not valid JSON/],
    [(() => { const b = build('{"x":1}'); b[10] = 0xff; return b; })(), 'E_CONFIG', /the header is not valid UTF-8/],
    [build('[1,2]'), 'E_CONFIG', /expected the header to be a JSON object, got an array of length 2/],
    [build('null'), 'E_CONFIG', /expected the header to be a JSON object, got null/],
    [build({ __metadata__: [] }), 'E_CONFIG', /"__metadata__": expected an object of string values, got an array/],
    [build({ __metadata__: { k: 1 } }), 'E_CONFIG', /"__metadata__"\["k"\]: expected a string, got 1/],
    [build({ w: 5 }), 'E_CONFIG', /tensor "w": expected an object with dtype, shape and data_offsets, got 5/],
    [build({ '': f32([1], [0, 4]) }, [1]), 'E_CONFIG', /tensor "": expected a non-empty tensor name/],
    [build({ w: { shape: [1], data_offsets: [0, 4] } }, [1]), 'E_CONFIG', /tensor "w": the dtype field is missing/],
    [build({ w: f32([1], [0, 4], 32) }, [1]), 'E_CONFIG', /tensor "w": dtype: expected a string, got 32/],
    [build({ w: f32([2], [0, 4], 'F128') }, [1]), 'E_CONFIG', /tensor "w": dtype "F128" is not a safetensors dtype \(F64, F32, F16, BF16, .*F8_E5M2\)/],
    [build({ w: f32([1], [0, 4], 'f32') }, [1]), 'E_CONFIG', /tensor "w": dtype "f32" is not a safetensors dtype/],
    [build({ w: f32([1], [0, 4], 'constructor') }, [1]), 'E_CONFIG', /tensor "w": dtype "constructor" is not a safetensors dtype/],
    [build({ w: f32([2], [0, 8], 'F16') }, [1, 2]), 'E_CONFIG', /tensor "w": shape \[2\] needs 4 bytes of F16, data_offsets \[0, 8\] hold 8/],
    [build({ w: f32([3], [0, 4], 'I8') }, [1]), 'E_CONFIG', /tensor "w": shape \[3\] needs 3 bytes of I8, data_offsets \[0, 4\] hold 4/],
    // A valid layout, but a dtype Frugal cannot turn into fp32: refused before any tensor is read.
    [build({ a: f32([1], [0, 4]), w: f32([1], [4, 12], 'F64') }, [1, 2, 3]), 'E_CONFIG', /tensor "w": dtype "F64" cannot be read as fp32/],
    [build({ a: f32([1], [0, 4]), w: f32([2], [4, 6], 'U8') }, new Uint8Array(6)), 'E_CONFIG', /tensor "w": dtype "U8" cannot be read as fp32 \(F32, F16 and BF16 can; readRaw gives any dtype's bytes\)/],
    [build({ w: { dtype: 'F32', data_offsets: [0, 4] } }, [1]), 'E_CONFIG', /tensor "w": the shape field is missing/],
    [build({ w: f32('1', [0, 4]) }, [1]), 'E_CONFIG', /tensor "w": shape: expected an array of dimensions, got "1"/],
    [build({ w: f32([1, 1, 1, 1, 1, 1, 1], [0, 4]) }, [1]), 'E_CONFIG', /tensor "w": shape: expected at most 6 dimensions .*got 7/],
    [build({ w: f32([-1], [0, 4]) }, [1]), 'E_CONFIG', /tensor "w": shape\[0\]: expected a non-negative integer, got -1/],
    [build({ w: f32([1, 1.5], [0, 4]) }, [1]), 'E_CONFIG', /tensor "w": shape\[1\]: expected a non-negative integer, got 1\.5/],
    [build({ w: f32([1, '1'], [0, 4]) }, [1]), 'E_CONFIG', /tensor "w": shape\[1\]: expected a non-negative integer, got "1"/],
    [build({ w: { dtype: 'F32', shape: [1] } }, [1]), 'E_CONFIG', /tensor "w": the data_offsets field is missing/],
    [build({ w: f32([1], [0]) }, [1]), 'E_CONFIG', /tensor "w": data_offsets: expected an array \[begin, end\], got an array of length 1/],
    [build({ w: f32([1], { 0: 0, 1: 4 }) }, [1]), 'E_CONFIG', /tensor "w": data_offsets: expected an array \[begin, end\], got an object/],
    [build({ w: f32([1], [0, '4']) }, [1]), 'E_CONFIG', /tensor "w": data_offsets\[1\]: expected a non-negative integer, got "4"/],
    [build({ w: f32([1], [-4, 0]) }, [1]), 'E_CONFIG', /tensor "w": data_offsets\[0\]: expected a non-negative integer, got -4/],
    [build({ w: f32([1], [4, 8]) }, [1]), 'E_CONFIG', /tensor "w": data_offsets \[4, 8\] out of range: expected begin <= end <= 4/],
    [build({ w: f32([0], [4, 0]) }, [1]), 'E_CONFIG', /tensor "w": data_offsets \[4, 0\] out of range/],
    [build({ w: f32([1], [0, 2 ** 60]) }, [1]), 'E_CONFIG', /tensor "w": data_offsets\[1\]: expected a non-negative integer/],
    [build({ w: f32([2, 3], [0, 20]) }, [1, 2, 3, 4, 5]), 'E_CONFIG', /tensor "w": shape \[2, 3\] needs 24 bytes of F32, data_offsets \[0, 20\] hold 20/],
    [build({ w: f32([], [0, 8]) }, [1, 2]), 'E_CONFIG', /tensor "w": shape \[\] needs 4 bytes/],
    [build({ w: f32([2 ** 40, 2 ** 40], [0, 4]) }, [1]), 'E_CONFIG', /tensor "w": shape \[1099511627776, 1099511627776\] needs 4835703278458516698824704 bytes/],
    [build({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, [1, 2, 3]), 'E_CONFIG', /tensor "b": data_offsets \[4, 12\] overlap tensor "a" at \[0, 8\]/],
    [build({ a: f32([2], [0, 8]), b: f32([2], [0, 8]) }, [1, 2]), 'E_CONFIG', /tensor "b": data_offsets \[0, 8\] overlap tensor "a"/],
    [build({ a: f32([2], [0, 8]), z: f32([0], [4, 4]) }, [1, 2]), 'E_CONFIG', /tensor "z": data_offsets \[4, 4\] overlap tensor "a"/],
    [build({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, [1, 2, 3]), 'E_CONFIG', /tensor "b": data_offsets \[8, 12\] leave a hole: data bytes \[4, 8\) belong to no tensor/],
    [build({ b: f32([1], [4, 8]) }, [1, 2]), 'E_CONFIG', /tensor "b": data_offsets \[4, 8\] leave a hole: data bytes \[0, 4\)/],
    [build({ a: f32([1], [0, 4]) }, [1, 2]), 'E_CONFIG', /data bytes \[4, 8\) after tensor "a" belong to no tensor/],
    [build({}, [1]), 'E_CONFIG', /data bytes \[0, 4\) belong to no tensor/],
  ];
  for (const [bytes, code, message] of cases) {
    throwsFrugal(t, () => decodeSafetensors(bytes), code, new RegExp('^bytes: ' + message.source), message.source);
  }

  // loadSafetensors and openSafetensors (at open, or for a dtype at read) name the file in the same messages.
  const dir = tmp();
  const readEach = (file: string) => {
    const r = openSafetensors(file);
    try {
      for (const name of r.names) r.read(name);
    } finally {
      r.close();
    }
  };
  try {
    cases.forEach(([bytes, code, message], i) => {
      const file = path.join(dir, `bad${i}.safetensors`);
      fs.writeFileSync(file, bytes);
      const want = new RegExp(`^${escape(file)}: ${message.source}`);
      throwsFrugal(t, () => loadSafetensors(file), code, want, `${file}: ${message.source}`);
      throwsFrugal(t, () => readEach(file), code, want, `open ${file}: ${message.source}`);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('unreadable and unwritable files give E_CONFIG with the OS reason', (t) => {
  const dir = tmp();
  try {
    const missing = path.join(dir, 'missing.safetensors');
    throwsFrugal(t, () => loadSafetensors(missing), 'E_CONFIG', /missing\.safetensors: cannot read the safetensors file \(ENOENT/, 'missing');
    throwsFrugal(t, () => loadSafetensors(dir), 'E_CONFIG', /cannot read the safetensors file \((EISDIR|not a regular file)/, 'directory');
    const blocker = path.join(dir, 'plain');
    fs.writeFileSync(blocker, 'x');
    throwsFrugal(t, () => saveSafetensors(path.join(blocker, 'x.safetensors'), { a: Tensor.from([1], [1]) }), 'E_CONFIG', /x\.safetensors: cannot write the safetensors file \((ENOTDIR|EEXIST)/, 'unwritable');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a FIFO, a directory or a device is refused at once, never waited on', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-fifo-'));
  const fifo = path.join(dir, 'pipe.safetensors');
  execFileSync('mkfifo', [fifo]);
  try {
    for (const file of [fifo, dir, '/dev/zero']) {
      const e = t.throws(() => loadSafetensors(file), { instanceOf: FrugalError });
      t.is(e!.code, 'E_CONFIG');
      t.true(e!.message.includes(file) && /not a regular file|EISDIR/.test(e!.message), e!.message);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the lazy reader ------------------------------------------------------

/** 16-bit words as little-endian bytes. */
const words = (values: number[]) => new Uint8Array(Uint16Array.from(values).buffer);
const bitsOf = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));
const sameValues = (got: ArrayLike<number>, want: number[]) =>
  got.length === want.length && want.every((w, i) => Object.is(got[i], w));

test('F16 and BF16 read as fp32 exactly: ±0, subnormals, max, infinities, NaN payloads', (t) => {
  const f16: Array<[number, number]> = [
    [0x0000, 0], [0x8000, -0], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125],
    [0x0001, 2 ** -24], [0x8001, -(2 ** -24)], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14],
    [0x7bff, 65504], [0xfbff, -65504], [0x7c00, Infinity], [0xfc00, -Infinity], [0x7e00, NaN],
  ];
  const bf16: Array<[number, number]> = [
    [0x0000, 0], [0x8000, -0], [0x3f80, 1], [0xc000, -2], [0x3eab, 0.333984375],
    [0x0001, 2 ** -133], [0x807f, -127 * 2 ** -133], [0x0080, 2 ** -126],
    [0x7f7f, 3.3895313892515355e38], [0xff7f, -3.3895313892515355e38], [0x7f80, Infinity], [0xff80, -Infinity], [0x7fc0, NaN],
  ];
  const h = words(f16.map(([b]) => b));
  const b = words(bf16.map(([x]) => x));
  const header = { h: f32([f16.length], [0, h.length], 'F16'), b: f32([bf16.length], [h.length, h.length + b.length], 'BF16') };
  const file = build(header, new Uint8Array([...h, ...b]));
  const got = decodeSafetensors(file).tensors;
  t.true(sameValues(got.h.data, f16.map(([, v]) => v)), `F16: ${Array.from(got.h.data)}`);
  t.true(sameValues(got.b.data, bf16.map(([, v]) => v)), `BF16: ${Array.from(got.b.data)}`);

  // NaN keeps its sign and payload (quiet or signalling), as a hardware conversion would.
  const nan = decodeSafetensors(build({ h: f32([3], [0, 6], 'F16'), b: f32([2], [6, 10], 'BF16') }, words([0x7c01, 0xfe00, 0x7dff, 0x7f81, 0xffc1])));
  t.deepEqual(bitsOf(nan.tensors.h.data), [0x7f802000, 0xffc00000, 0x7fbfe000]);
  t.deepEqual(bitsOf(nan.tensors.b.data), [0x7f810000, 0xffc10000]);

  // Every half against the format's formula; every bfloat16 is the top half of its fp32.
  const all = Array.from({ length: 65536 }, (_, i) => i);
  const wide = decodeSafetensors(build({ h: f32([65536], [0, 131072], 'F16'), b: f32([65536], [131072, 262144], 'BF16') }, new Uint8Array([...words(all), ...words(all)])));
  const half = (x: number) => {
    const sign = x & 0x8000 ? -1 : 1;
    const e = (x >> 10) & 31;
    const m = x & 1023;
    if (e === 31) return m ? NaN : sign * Infinity;
    return sign * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15));
  };
  t.true(all.every((x) => Object.is(wide.tensors.h.data[x], half(x))), 'F16 formula');
  t.true(bitsOf(wide.tensors.b.data).every((bits, x) => bits === x * 65536), 'BF16 bits');

  // The reader and loadSafetensors convert the same way, through more than one read chunk.
  const dir = tmp();
  try {
    const big = 3 * (1 << 20) + 5;
    const pattern = Uint16Array.from({ length: big }, (_, i) => [0x3c00, 0x8001, 0x7bff, 0xfc00][i % 4]);
    const path16 = path.join(dir, 'half.safetensors');
    writeSafetensors(path16, [
      { name: 'h', dtype: 'F16', shape: [big], bytes: new Uint8Array(pattern.buffer) },
      { name: 'b', dtype: 'BF16', shape: [big], bytes: new Uint8Array(pattern.buffer) },
    ]);
    const r = openSafetensors(path16);
    const x = r.read('h').data;
    const y = r.read('b').data;
    r.close();
    const want16 = [1, -(2 ** -24), 65504, -Infinity];
    t.true(x.length === big && Array.from({ length: big }, (_, i) => i).every((i) => Object.is(x[i], want16[i % 4])));
    t.deepEqual(Array.from(y.subarray(big - 5, big - 1)), Array.from(y.subarray(0, 4)), 'the last chunk too');
    t.deepEqual(bitsOf(y.subarray(0, 4)), [0x3c000000, 0x80010000, 0x7bff0000, 0xfc000000]);
    const loaded = loadSafetensors(path16).tensors;
    t.true(Buffer.from(loaded.h.data.buffer).equals(Buffer.from(x.buffer)), 'loadSafetensors gives the same bits');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const SIZES: Array<[string, number]> = [
  ['F64', 8], ['F32', 4], ['F16', 2], ['BF16', 2], ['I64', 8], ['I32', 4], ['I16', 2], ['I8', 1],
  ['U8', 1], ['BOOL', 1], ['U16', 2], ['U32', 4], ['U64', 8], ['F8_E4M3', 1], ['F8_E5M2', 1],
];

test('every standard dtype passes the layout checks with its element size, and reads raw', (t) => {
  const dir = tmp();
  try {
    const header: Record<string, object> = {};
    let offset = 0;
    for (const [dtype, size] of SIZES) {
      header[dtype.toLowerCase()] = f32([3], [offset, offset + 3 * size], dtype);
      offset += 3 * size;
    }
    const data = Uint8Array.from({ length: offset }, (_, i) => (i * 37) & 255);
    const file = path.join(dir, 'all.safetensors');
    fs.writeFileSync(file, build(header, data));
    const r = openSafetensors(file);
    offset = 0;
    for (const [dtype, size] of SIZES) {
      const name = dtype.toLowerCase();
      t.deepEqual(r.info(name), { dtype, shape: [3], byteLength: 3 * size });
      const raw = r.readRaw(name);
      t.deepEqual(raw.dtype, dtype);
      t.deepEqual(Array.from(raw.bytes), Array.from(data.subarray(offset, offset + 3 * size)), dtype);
      offset += 3 * size;
    }
    r.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A hand-made file of mixed dtypes, listed out of offset order, with metadata. */
function mixedFile(): { bytes: Uint8Array; ids: Uint8Array } {
  const ids = new Uint8Array(new BigInt64Array([-1n, 1n << 40n]).buffer);
  const w = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const h = words([0x3c00, 0xc000, 0x7c00]);
  const b = words([0x3f80, 0x4000]);
  const mask = new Uint8Array([1, 0, 1]);
  const q = new Uint8Array([0x38, 0xb8]);
  const header = {
    w: f32([2, 2], [16, 32]), ids: f32([2], [0, 16], 'I64'), __metadata__: { format: 'pt' }, h: f32([3], [32, 38], 'F16'),
    b: f32([1, 2], [38, 42], 'BF16'), mask: f32([3], [42, 45], 'BOOL'), q: f32([2], [45, 47], 'F8_E4M3'),
  };
  return { bytes: build(header, new Uint8Array([...ids, ...w, ...h, ...b, ...mask, ...q])), ids };
}

test('openSafetensors reads a mixed-dtype file lazily, by offset, one tensor at a time', (t) => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'mixed.safetensors');
    const { bytes, ids } = mixedFile();
    fs.writeFileSync(file, bytes);
    const r = openSafetensors(file);
    t.is(r.file, file);
    t.deepEqual([...r.names], ['w', 'ids', 'h', 'b', 'mask', 'q']);
    t.true(Object.isFrozen(r.names) && Object.isFrozen(r.metadata));
    t.deepEqual({ ...r.metadata }, { format: 'pt' });
    t.true(r.has('q'));
    t.false(r.has('nope'));
    t.false(r.has('__metadata__'));
    t.deepEqual(r.info('b'), { dtype: 'BF16', shape: [1, 2], byteLength: 4 });
    const w = r.read('w');
    t.deepEqual([...w.shape], [2, 2]);
    t.deepEqual(Array.from(w.data), [1, 2, 3, 4]);
    t.deepEqual(Array.from(r.read('h').data), [1, -2, Infinity]);
    t.deepEqual(Array.from(r.read('b').data), [1, 2]);
    t.deepEqual(Array.from(r.readRaw('ids').bytes), Array.from(ids));
    t.deepEqual(r.readRaw('mask'), { dtype: 'BOOL', shape: [3], bytes: new Uint8Array([1, 0, 1]) });
    // Each read is its own memory, and comes from the file now: change w's bytes in place and read again.
    const again = r.read('w');
    t.not(again.data, w.data);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, new Uint8Array(new Float32Array([9]).buffer), 0, 4, bytes.length - 47 + 16);
    fs.closeSync(fd);
    t.deepEqual(Array.from(r.read('w').data), [9, 2, 3, 4]);
    t.deepEqual(Array.from(w.data), [1, 2, 3, 4]);
    // Integer, bool and fp8 tensors are there as bytes only.
    for (const [name, dtype] of [['ids', 'I64'], ['mask', 'BOOL'], ['q', 'F8_E4M3']]) {
      throwsFrugal(t, () => r.read(name), 'E_CONFIG', new RegExp(`^${escape(file)}: tensor "${name}": dtype "${dtype}" cannot be read as fp32`), name);
    }
    r.close();
    throwsFrugal(t, () => loadSafetensors(file), 'E_CONFIG', /tensor "ids": dtype "I64" cannot be read as fp32/, 'load');
    throwsFrugal(t, () => decodeSafetensors(bytes), 'E_CONFIG', /^bytes: tensor "ids": dtype "I64" cannot be read as fp32/, 'decode');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing name, a bad argument, and any use after close are FrugalErrors; close is idempotent', (t) => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'mixed.safetensors');
    fs.writeFileSync(file, mixedFile().bytes);
    const r = openSafetensors(file);
    for (const fn of [() => r.read('nope'), () => r.readRaw('nope'), () => r.info('nope')]) {
      throwsFrugal(t, fn, 'E_CONFIG', new RegExp(`^${escape(file)}: no tensor "nope" in the safetensors file$`), 'missing');
    }
    throwsFrugal(t, () => r.read('__metadata__'), 'E_CONFIG', /no tensor "__metadata__"/, 'metadata is no tensor');
    throwsFrugal(t, () => r.read(3 as never), 'E_DTYPE', /^name: expected a tensor name \(a string\), got 3/, 'number');
    throwsFrugal(t, () => r.has(undefined as never), 'E_DTYPE', /^name: .* got undefined/, 'undefined');
    r.close();
    r.close();
    for (const [method, fn] of [['read', () => r.read('w')], ['readRaw', () => r.readRaw('w')], ['info', () => r.info('w')], ['has', () => r.has('w')]] as const) {
      throwsFrugal(t, fn, 'E_CONFIG', new RegExp(`^${escape(file)}: ${method}\\(\\): the safetensors reader is closed`), method);
    }
    t.deepEqual([...r.names], ['w', 'ids', 'h', 'b', 'mask', 'q'], 'names stay readable');
    // Opening refuses what loading refuses.
    throwsFrugal(t, () => openSafetensors(path.join(dir, 'none')), 'E_CONFIG', /none: cannot read the safetensors file \(ENOENT/, 'missing file');
    throwsFrugal(t, () => openSafetensors(dir), 'E_CONFIG', /cannot read the safetensors file \((EISDIR|not a regular file)/, 'directory');
    throwsFrugal(t, () => openSafetensors('' as never), 'E_DTYPE', /^file: expected a non-empty file path, got ""/, 'empty');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the streaming writer -------------------------------------------------

test('writeSafetensors copies tensors through readRaw byte for byte, replacing some, streaming the rest', (t) => {
  const dir = tmp();
  try {
    const src = path.join(dir, 'src.safetensors');
    fs.writeFileSync(src, mixedFile().bytes);
    const r = openSafetensors(src);
    const calls: string[] = [];
    const copy = (name: string): SafetensorsEntry => ({
      name,
      ...r.info(name),
      bytes: () => (calls.push(name), r.readRaw(name).bytes),
    });
    const out = path.join(dir, 'out.safetensors');
    const tuned = Tensor.from([5, 6, 7, 8], [2, 2]);
    writeSafetensors(out, r.names.map((name) => (name === 'w' ? { name, tensor: tuned } : copy(name))), { ...r.metadata, step: '3' });
    t.deepEqual(calls, ['ids', 'h', 'b', 'mask', 'q'], 'each bytes function called once, in order');
    const o = openSafetensors(out);
    t.deepEqual([...o.names], [...r.names]);
    t.deepEqual({ ...o.metadata }, { format: 'pt', step: '3' });
    for (const name of r.names.filter((n) => n !== 'w')) t.deepEqual(o.readRaw(name), r.readRaw(name), name);
    t.deepEqual(o.info('w'), { dtype: 'F32', shape: [2, 2], byteLength: 16 });
    t.deepEqual(Array.from(o.read('w').data), [5, 6, 7, 8]);
    o.close();
    // A second copy, all raw, of the written file is identical to it.
    const o2 = openSafetensors(out);
    const again = path.join(dir, 'again.safetensors');
    writeSafetensors(again, o2.names.map((name) => ({ name, ...o2.readRaw(name) })), { ...o2.metadata });
    o2.close();
    t.deepEqual(new Uint8Array(fs.readFileSync(again)), new Uint8Array(fs.readFileSync(out)));
    t.is(Number(fs.readFileSync(again).readBigUint64LE(0)) % 8, 0, 'header padded to a multiple of 8');
    // Written onto the file being read: the reader still sees the old file to the end.
    writeSafetensors(src, r.names.map(copy));
    t.deepEqual(r.readRaw('ids').bytes, mixedFile().ids);
    r.close();
    const back = openSafetensors(src);
    t.deepEqual([...back.names], ['w', 'ids', 'h', 'b', 'mask', 'q']);
    t.deepEqual(Array.from(back.read('w').data), [1, 2, 3, 4]);
    back.close();
    t.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);

    // Tensor entries give the bytes of encodeSafetensors, as saveSafetensors does.
    const tensors = { a: Tensor.from([1, -2], [2]), b: Tensor.from([0.5], []), z: Tensor.from(new Float32Array(0), [0, 3]) };
    const viaEntries = path.join(dir, 'entries.safetensors');
    const viaSave = path.join(dir, 'save.safetensors');
    writeSafetensors(viaEntries, Object.entries(tensors).map(([name, tensor]) => ({ name, tensor })), { format: 'pt' });
    saveSafetensors(viaSave, tensors, { format: 'pt' });
    const expected = encodeSafetensors(tensors, { format: 'pt' });
    t.deepEqual(new Uint8Array(fs.readFileSync(viaEntries)), expected);
    t.deepEqual(new Uint8Array(fs.readFileSync(viaSave)), expected);
    writeSafetensors(viaEntries, []);
    t.deepEqual(Array.from(fs.readFileSync(viaEntries)), [8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writeSafetensors refuses bad entries, naming them, and writes nothing', (t) => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'out.safetensors');
    const ok = Tensor.from([1], [1]);
    const raw = { name: 'r', dtype: 'F16', shape: [3], bytes: new Uint8Array(6) };
    const data = new Float32Array(4);
    const detached = Tensor.from(data, [4]);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    const cases: Array<[unknown, string, RegExp, unknown?]> = [
      [null, 'E_DTYPE', /^entries: expected an array of \{ name, tensor \} or \{ name, dtype, shape, bytes \}, got null/],
      [{ a: ok }, 'E_DTYPE', /^entries: .* got an object/],
      [[null], 'E_DTYPE', /^entries\[0\]: expected \{ name, tensor \} or \{ name, dtype, shape, bytes \}, got null/],
      [[{ name: 'a', tensor: ok }, ok], 'E_DTYPE', /^entries\[1\]: .* got a Tensor/],
      [[{ name: 'a', tensor: ok, byte: 1 }], 'E_CONFIG', /^entries\[0\]\.byte: unknown option \(did you mean 'bytes'\?\)/],
      [[{ tensor: ok }], 'E_DTYPE', /^entries\[0\]\.name: expected a string, got undefined/],
      [[{ name: '', tensor: ok }], 'E_RANGE', /^entries\[0\]\.name: expected non-empty tensor names, got ""/],
      [[{ name: '__metadata__', tensor: ok }], 'E_RANGE', /^entries\[0\]\.name: expected tensor names other than "__metadata__"/],
      [[raw, { name: 'a', tensor: ok }, { ...raw }], 'E_RANGE', /^entries\[2\] \("r"\): the name is already taken by an earlier entry/],
      [[{ name: 'a', tensor: [1] }], 'E_DTYPE', /^entries\[0\] \("a"\)\.tensor: expected a Tensor, got an array of length 1/],
      [[{ name: 'a', tensor: detached }], 'E_SHAPE', /^entries\[0\] \("a"\)\.tensor: tensor\.data: .*detached/],
      [[{ ...raw, tensor: ok }], 'E_DTYPE', /^entries\[0\] \("r"\): expected either a tensor or dtype, shape and bytes, got both/],
      [[{ ...raw, dtype: undefined }], 'E_DTYPE', /^entries\[0\] \("r"\)\.dtype: expected a safetensors dtype \(F64, .*\), got undefined/],
      [[{ ...raw, dtype: 'f16' }], 'E_DTYPE', /^entries\[0\] \("r"\)\.dtype: .* got "f16"/],
      [[{ ...raw, dtype: 'toString' }], 'E_DTYPE', /^entries\[0\] \("r"\)\.dtype: .* got "toString"/],
      [[{ ...raw, shape: undefined }], 'E_SHAPE', /^entries\[0\] \("r"\)\.shape: expected an array of dimensions, got undefined/],
      [[{ ...raw, shape: [-3] }], 'E_SHAPE', /^entries\[0\] \("r"\)\.shape\[0\]: expected a non-negative integer, got -3/],
      [[{ ...raw, shape: [1, 1, 1, 1, 1, 1, 3] }], 'E_SHAPE', /^entries\[0\] \("r"\)\.shape: expected at most 6 dimensions, got 7/],
      [[{ ...raw, shape: [2 ** 20, 2 ** 20] }], 'E_RANGE', /^entries\[0\] \("r"\)\.shape: \[1048576, 1048576\] has 1099511627776 elements/],
      [[{ ...raw, bytes: undefined }], 'E_DTYPE', /^entries\[0\] \("r"\)\.bytes: expected a Uint8Array, got undefined/],
      [[{ ...raw, bytes: new Uint16Array(3) }], 'E_DTYPE', /^entries\[0\] \("r"\)\.bytes: expected a Uint8Array, got a Uint16Array of length 3/],
      [[{ ...raw, bytes: new Uint8Array(4) }], 'E_SHAPE', /^entries\[0\] \("r"\)\.bytes: F16 \[3\] takes 6 bytes, got 4/],
      [[{ ...raw, shape: [], dtype: 'F64' }], 'E_SHAPE', /^entries\[0\] \("r"\)\.bytes: F64 \[\] takes 8 bytes, got 6/],
      [[{ ...raw, byteLength: 5 }], 'E_SHAPE', /^entries\[0\] \("r"\)\.byteLength: F16 \[3\] takes 6 bytes, got 5/],
      [[{ name: 'a', tensor: ok, byteLength: 4 }], 'E_DTYPE', /^entries\[0\] \("a"\): expected either a tensor or dtype, shape and bytes, got both/],
      [[raw], 'E_DTYPE', /^metadata\["n"\]: expected a string, got 1/, { n: 1 }],
      [[{ ...raw, name: 'x'.repeat(MAX_HEADER_BYTES) }], 'E_RANGE', /^metadata: the header would take \d+ bytes, more than the 100000000-byte limit/],
    ];
    for (const [entries, code, message, metadata] of cases) {
      throwsFrugal(t, () => writeSafetensors(file, entries as never, metadata as never), code, message, message.source);
    }
    throwsFrugal(t, () => writeSafetensors(7 as never, []), 'E_DTYPE', /^file: expected a non-empty file path, got 7/, 'file');
    t.deepEqual(fs.readdirSync(dir), [], 'nothing written');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a write that fails midway, or is killed, leaves no file and the old one as it was', async (t) => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'out.safetensors');
    saveSafetensors(file, { old: Tensor.from([1], [1]) });
    const before = fs.readFileSync(file);
    const first = { name: 'a', dtype: 'U8', shape: [4], bytes: new Uint8Array(4) };
    const failing: Array<[() => unknown, string, RegExp]> = [
      [() => { throw new FrugalError('E_CONFIG', 'source.safetensors: the file ended early'); }, 'E_CONFIG', /^source\.safetensors: the file ended early$/],
      [() => { throw new Error('boom'); }, 'E_CONFIG', new RegExp(`^${escape(file)}: cannot write the safetensors file \\(boom\\)`)],
      [() => new Uint8Array(3), 'E_SHAPE', /^entries\[1\] \("b"\)\.bytes\(\): U8 \[2, 2\] takes 4 bytes, got 3/],
      [() => 'abcd', 'E_DTYPE', /^entries\[1\] \("b"\)\.bytes\(\): expected a Uint8Array, got "abcd"/],
    ];
    for (const [bytes, code, message] of failing) {
      throwsFrugal(t, () => writeSafetensors(file, [first, { name: 'b', dtype: 'U8', shape: [2, 2], bytes: bytes as never }]), code, message, message.source);
      t.deepEqual(fs.readdirSync(dir), ['out.safetensors'], 'no temporary file left');
      t.deepEqual(fs.readFileSync(file), before, 'the old file untouched');
    }

    // SIGKILL in the middle of a write: no file at the target; the next write removes the dead writer's temp file.
    const target = path.join(dir, 'killed.safetensors');
    const marker = path.join(dir, 'writing');
    const script = `
      const fs = require('node:fs');
      const { writeSafetensors } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'safetensors'))});
      writeSafetensors(${JSON.stringify(target)}, [
        { name: 'a', dtype: 'U8', shape: [4], bytes: new Uint8Array(4) },
        { name: 'b', dtype: 'U8', shape: [4], bytes: () => {
          fs.writeFileSync(${JSON.stringify(marker)}, '');
          for (const end = Date.now() + 60000; Date.now() < end;);
          return new Uint8Array(4);
        } },
      ]);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    const exited = once(child, 'exit');
    for (const end = Date.now() + 60_000; !fs.existsSync(marker) && Date.now() < end;) await new Promise((r) => setTimeout(r, 5));
    t.true(fs.existsSync(marker), 'the child started writing');
    child.kill('SIGKILL');
    await exited;
    const temps = () => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));
    t.false(fs.existsSync(target), 'no file at the target');
    t.is(temps().length, 1, 'the dead writer left its temp file');
    writeSafetensors(target, [first]);
    t.deepEqual(temps(), [], 'removed by the next write');
    const r = openSafetensors(target);
    t.deepEqual(r.readRaw('a'), { dtype: 'U8', shape: [4], bytes: new Uint8Array(4) });
    r.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a 50 MB file is written and read one tensor at a time: memory grows by about the largest tensor, not the file', (t) => {
  // In a child of its own, with --expose-gc: other tests' buffers cannot blur the numbers,
  // and a collection between tensors makes them what is held, not what awaits collection.
  const dir = tmp();
  try {
    const script = `
      const { writeSafetensors, openSafetensors, loadSafetensors } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'safetensors'))});
      const file = ${JSON.stringify(path.join(dir, 'big.safetensors'))};
      const M = 1 << 20;
      // 10 F32 tensors of 4 MB, 2 F16 of 4 MB (8 MB as fp32), 1 BF16 of 2 MB: 50 MB on disk.
      const plan = [];
      for (let i = 0; i < 10; i++) plan.push({ name: 'f32.' + i, dtype: 'F32', count: M, word: 0, value: i + 0.5 });
      for (let i = 0; i < 2; i++) plan.push({ name: 'f16.' + i, dtype: 'F16', count: 2 * M, word: 0x3c00 + i, value: 1 + i / 1024 });
      plan.push({ name: 'bf16', dtype: 'BF16', count: M, word: 0x4040, value: 3 });
      const used = () => { gc(); return process.memoryUsage().arrayBuffers; };
      let base = used();
      let writePeak = 0;
      writeSafetensors(file, plan.map((p) => ({ name: p.name, dtype: p.dtype, shape: [p.count], bytes: () => {
        writePeak = Math.max(writePeak, used() - base);
        if (p.dtype === 'F32') return new Uint8Array(new Float32Array(p.count).fill(p.value).buffer);
        return new Uint8Array(new Uint16Array(p.count).fill(p.word).buffer);
      } })));
      base = used();
      let readPeak = 0;
      const r = openSafetensors(file);
      let ok = true;
      for (const p of plan) {
        let t = r.read(p.name);
        readPeak = Math.max(readPeak, process.memoryUsage().arrayBuffers - base);
        ok = ok && t.size === p.count && t.data[0] === p.value && t.data[p.count - 1] === p.value;
        t = null;
        gc();
      }
      r.close();
      base = used();
      const all = loadSafetensors(file);
      const loadGrowth = used() - base;
      console.log(JSON.stringify({ size: require('fs').statSync(file).size, writePeak, readPeak, loadGrowth, ok, kept: Object.keys(all.tensors).length }));`;
    const res = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    t.is(res.status, 0, res.stderr);
    const m = JSON.parse(res.stdout) as { size: number; writePeak: number; readPeak: number; loadGrowth: number; ok: boolean; kept: number };
    const MB = 1 << 20;
    const largest = 8 * MB; // an F16 tensor of 2M elements, as fp32
    t.log(`file ${(m.size / MB).toFixed(1)} MB; held at most ${(m.writePeak / MB).toFixed(1)} MB writing, ${(m.readPeak / MB).toFixed(1)} MB reading; loading all: ${(m.loadGrowth / MB).toFixed(1)} MB`);
    t.true(m.size > 50 * MB);
    t.true(m.ok, 'every tensor read back right');
    t.true(m.readPeak <= 1.5 * largest, `reading held ${m.readPeak} bytes`);
    t.true(m.writePeak <= 1.5 * largest, `writing held ${m.writePeak} bytes`);
    // The measure sees a whole load, so the bounds above mean something.
    t.is(m.kept, 13);
    t.true(m.loadGrowth > 50 * MB, `loading all grew ${m.loadGrowth} bytes`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
