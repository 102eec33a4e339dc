// safetensors: round trips, a byte-exact file built by hand, a foreign-style file
// (unpadded header, tensors listed out of offset order) and every bad input.
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FrugalError, Tensor } from '../lib';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors, MAX_HEADER_BYTES } from '../lib/safetensors';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-st-'));

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

test('malformed files give E_CONFIG (E_DTYPE for dtype) naming the tensor', (t) => {
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
    [build({ w: f32([2], [0, 4], 'F16') }, [1]), 'E_DTYPE', /tensor "w": dtype "F16" is not supported \(Frugal reads F32 only\)/],
    [build({ a: f32([1], [0, 4]), w: f32([1], [4, 12], 'F64') }, [1, 2, 3]), 'E_DTYPE', /tensor "w": dtype "F64"/],
    [build({ w: f32([1], [0, 4], 'f32') }, [1]), 'E_DTYPE', /tensor "w": dtype "f32"/],
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

  // loadSafetensors names the file in the same messages.
  const dir = tmp();
  try {
    cases.forEach(([bytes, code, message], i) => {
      const file = path.join(dir, `bad${i}.safetensors`);
      fs.writeFileSync(file, bytes);
      throwsFrugal(t, () => loadSafetensors(file), code, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${message.source}`), `${file}: ${message.source}`);
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
