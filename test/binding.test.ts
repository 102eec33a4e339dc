// The addon's side of "one argument list per op": every native function takes one
// object read by name, refuses keys it does not read, and names the key (and the
// op) of a missing or bad argument. Every other test calls each op through its
// TypeScript module, so a key the two sides spell differently fails there; these
// tests pin the addon's answers themselves.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { addonCandidates, native } from '../lib/binding';

type Fn = (args?: unknown, ...rest: unknown[]) => unknown;
const addon = (): Record<string, Fn> => native<Record<string, Fn>>();

// A valid softmax call on 2 × 3 floats, to vary one key at a time.
const softmaxArgs = (): Record<string, unknown> => ({ x: new Float32Array(6), y: new Float32Array(6), rows: 2, cols: 3, async: false });

const codeOf = (fn: () => unknown): { code?: string; message: string } => {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  return { message: '(no error)' };
};

// Serial, and first: the addon checks an op's keys until the check has passed once on a thread.
test.serial('a key the op does not read is refused with E_CONFIG naming it, before anything runs', (t) => {
  const y = new Float32Array(6).fill(7);
  const e = codeOf(() => addon().softmax({ ...softmaxArgs(), y, colz: 3 }));
  t.is(e.code, 'E_CONFIG');
  t.regex(e.message, /softmax: colz: not an argument of this op/);
  t.deepEqual([...y], [7, 7, 7, 7, 7, 7], 'the output is untouched');
  // The async form refuses it synchronously too: no promise is made.
  t.is(codeOf(() => addon().softmax({ ...softmaxArgs(), async: true, extra: null })).code, 'E_CONFIG');
});

test('a missing key fails naming the op and the key', (t) => {
  const args = softmaxArgs();
  delete args.cols;
  const e = codeOf(() => addon().softmax(args));
  t.is(e.code, 'E_DTYPE');
  t.regex(e.message, /^softmax: cols: expected a size/);
  const m = codeOf(() => addon().gelu({ y: new Float32Array(1), n: 1, async: false }));
  t.regex(m.message, /^gelu: x: expected a Float32Array or device buffer/);
});

test('positional arguments, arrays and no arguments are refused', (t) => {
  for (const call of [() => addon().softmax(new Float32Array(6), new Float32Array(6), 2, 3, false), () => addon().softmax([]), () => addon().softmax()]) {
    const e = codeOf(call);
    t.is(e.code, 'E_CONFIG');
    t.regex(e.message, /softmax: expected one arguments object/);
  }
});

test('enums cross by name: an unknown name is E_RANGE listing the known ones; an index is not a name', (t) => {
  const gemm = (activation: unknown) =>
    codeOf(() => addon().gemm({
      a: new Float32Array(4), b: new Float32Array(4), out: new Float32Array(4), bias: null, colScale: null, residual: null,
      batch: 1, M: 2, N: 2, K: 2, transA: false, transB: false, sharedB: true, alpha: 1, beta: 0, activation, async: false,
    }));
  t.is(gemm('gelu').message, '(no error)');
  t.is(gemm('relu').message, '(no error)');
  const e = gemm('tanh');
  t.is(e.code, 'E_RANGE');
  t.regex(e.message, /matmul: activation: expected one of none, gelu, relu, got 'tanh'/);
  t.is(gemm(1).code, 'E_DTYPE');
  const rule = codeOf(() => addon().dpClipFactors({ norms: new Float32Array(2), B: 2, C: 1, rule: 0, factors: new Float32Array(2), async: false }));
  t.is(rule.code, 'E_DTYPE');
  t.regex(rule.message, /dp.clipFactors: rule: expected a string/);
});

test('lengths are checked against the sizes, and sizes against 2^40 without overflow', (t) => {
  const short = codeOf(() => addon().softmax({ ...softmaxArgs(), y: new Float32Array(5) }));
  t.is(short.code, 'E_SHAPE');
  t.regex(short.message, /softmax: y: expected at least 6 elements, got 5/);
  const huge = codeOf(() => addon().softmax({ ...softmaxArgs(), rows: 2 ** 40, cols: 2 ** 40 }));
  t.is(huge.code, 'E_SHAPE');
  t.regex(huge.message, /more than 2\^40 elements/);
  t.is(codeOf(() => addon().softmax({ ...softmaxArgs(), rows: -1 })).code, 'E_SHAPE');
  t.is(codeOf(() => addon().softmax({ ...softmaxArgs(), rows: 1.5 })).code, 'E_SHAPE');
});

test('an optional tensor may be null, a required one may not', (t) => {
  const base = { a: new Float32Array(4), b: new Float32Array(4), out: new Float32Array(4), colScale: null, residual: null, batch: 1, M: 2, N: 2, K: 2,
    transA: false, transB: false, sharedB: true, alpha: 1, beta: 0, activation: 'none', async: false };
  t.is(codeOf(() => addon().gemm({ ...base, bias: null })).message, '(no error)');
  const e = codeOf(() => addon().gemm({ ...base, bias: null, out: null }));
  t.is(e.code, 'E_DTYPE');
  t.regex(e.message, /matmul: out: expected a Float32Array or device buffer/);
});

test('the async form settles with undefined after writing its output', async (t) => {
  const x = new Float32Array([0, 0, 0, 1, 1, 1]);
  const y = new Float32Array(6);
  t.is(await addon().softmax({ x, y, rows: 2, cols: 3, async: true }), undefined);
  for (const v of y) t.true(Math.abs(v - 1 / 3) < 1e-6);
});

test('an output overlapping an input it must not is refused by address, also through a cloned SharedArrayBuffer', (t) => {
  const shared = new SharedArrayBuffer(4 * 8);
  const alias = structuredClone(shared); // another object, the same memory
  t.not(alias, shared);
  const x = new Float32Array(shared, 0, 6);
  const e = codeOf(() => addon().softmax({ x, y: new Float32Array(alias, 4, 6), rows: 2, cols: 3, async: false }));
  t.is(e.code, 'E_RANGE');
  t.regex(e.message, /softmax: y: overlaps x partly; it must be x itself or not overlap it/);
  // Exactly x itself is in place, which softmax allows.
  t.is(codeOf(() => addon().softmax({ x, y: new Float32Array(alias, 0, 6), rows: 2, cols: 3, async: false })).message, '(no error)');
  const a = new Float32Array(shared, 0, 4);
  const g = codeOf(() => addon().gemm({
    a, b: new Float32Array(4), out: new Float32Array(alias, 0, 4), bias: null, colScale: null, residual: null,
    batch: 1, M: 2, N: 2, K: 2, transA: false, transB: false, sharedB: true, alpha: 1, beta: 0, activation: 'none', async: false,
  }));
  t.is(g.code, 'E_RANGE');
  t.regex(g.message, /matmul: out: overlaps a; it must not share memory with a/);
});

test('a malformed device buffer is E_DTYPE, never a wild length or pointer', (t) => {
  for (const y of [{ __frugalDevicePtr: 1n, length: -1 }, { __frugalDevicePtr: 1n, length: 1.5 }, { __frugalDevicePtr: 1.5, length: 6 },
    { __frugalDevicePtr: -1n, length: 6 }, { __frugalDevicePtr: 1n, length: 2 ** 41 }]) {
    const e = codeOf(() => addon().softmax({ ...softmaxArgs(), y }));
    t.is(e.code, 'E_DTYPE', JSON.stringify(y, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
    t.regex(e.message, /softmax: y: a malformed device buffer/);
  }
});

// Raw addon exports, as lib/binding.ts loaded them (the same module instance).
const raw = (): Record<string, Fn & { argumentKeys(): string[] | undefined }> & { positionalTag: unknown } => {
  addon();
  const file = addonCandidates().find((f) => require.cache[f]);
  return require(file as string);
};

test('once a call passes the key check, the op is called by position, in the order it reads its keys', (t) => {
  const x = new Float32Array([0, 0, 0, 1, 2, 3]);
  for (let i = 0; i < 3; i++) {
    const y = new Float32Array(6);
    t.is(codeOf(() => addon().softmax({ x, y, rows: 2, cols: 3, async: false })).message, '(no error)');
    t.true(Math.abs(y[0] - 1 / 3) < 1e-6 && Math.abs(y[5] - Math.exp(1) / (1 + Math.exp(-1) + Math.exp(1))) < 1e-6, `call ${i}`);
  }
  // async first: it decides whether the tensors are pinned as they are read.
  t.deepEqual(raw().softmax.argumentKeys(), ['async', 'rows', 'cols', 'x', 'y']);
  // A missing key still names itself on a positional call.
  const args = softmaxArgs();
  delete args.rows;
  t.regex(codeOf(() => addon().softmax(args)).message, /^softmax: rows: expected a size/);
});

test('a positional call needs the addon\'s tag and exactly the recorded keys', (t) => {
  addon().softmax(softmaxArgs());
  const { softmax, positionalTag } = raw();
  t.is(codeOf(() => softmax({}, false, new Float32Array(6), new Float32Array(6), 2, 3)).code, 'E_CONFIG');
  const short = codeOf(() => softmax(positionalTag, false, new Float32Array(6), new Float32Array(6), 2));
  t.is(short.code, 'E_NATIVE');
  t.regex(short.message, /softmax: a positional call that does not match the recorded key order/);
  t.false('positionalTag' in addon(), 'lib/binding.ts keeps the tag to itself');
});

test('with code generation from strings disabled, ops are still called by position', (t) => {
  const script = `
    const { softmax, Tensor } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib'))});
    const x = Tensor.from([0, 0, 0, 1, 2, 3], [2, 3]);
    let y;
    for (let i = 0; i < 3; i++) y = softmax(x);
    process.stdout.write(JSON.stringify(Array.from(y.data)));`;
  const r = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const y = JSON.parse(r.stdout) as number[];
  t.true(Math.abs(y[0] - 1 / 3) < 1e-6 && Math.abs(y[3] - 0.09003057) < 1e-6, r.stdout);
});
