// GradDrop's pure-TypeScript orchestration: rate schedules (hand-computed values),
// FreezePlan globs, and ReplaySampler batches checked against a plain-JS reading of
// the documented stream contract; bad inputs of each.
import test, { type ExecutionContext } from 'ava';
import { FrugalError } from '../lib/errors';
import { FreezePlan } from '../lib/graddrop/freeze';
import { ReplaySampler, type ReplayBatch } from '../lib/graddrop/replay';
import { GradDropSchedule, checkMaskOptions, type MaskOptions } from '../lib/graddrop/schedule';
import { random } from '../lib/random';

/** Each case must throw a FrugalError of `code` whose message starts with the argument's name. */
function assertRefused(t: ExecutionContext, cases: Array<[() => unknown, string, string]>): void {
  for (const [fn, code, name] of cases) {
    const e = t.throws(fn, { instanceOf: FrugalError });
    t.is(e?.code, code as never, e?.message);
    t.true(e?.message.startsWith(`${name}:`), `expected the message to name ${name}: ${e?.message}`);
  }
}

const ratesAt = (s: GradDropSchedule, epoch: number, step = 0) =>
  Array.from({ length: s.layers! }, (_, l) => s.rate(l, { step, epoch }));
const near = (a: number, b: number) => Math.abs(a - b) < 1e-12;

test('gradual unfreezing frees the top layer first, one more every epochsPerLayer epochs', (t) => {
  // L = 4, 2 epochs per layer: layer l (t = 3 − l from the top) trains from epoch 2t.
  const s = GradDropSchedule.gradualUnfreezing({ layers: 4, epochsPerLayer: 2 });
  t.deepEqual(ratesAt(s, 0), [1, 1, 1, 0]);
  t.deepEqual(ratesAt(s, 1.99), [1, 1, 1, 0]);
  t.deepEqual(ratesAt(s, 2), [1, 1, 0, 0]);
  t.deepEqual(ratesAt(s, 4), [1, 0, 0, 0]);
  t.deepEqual(ratesAt(s, 5.5, 9999), [1, 0, 0, 0]);
  t.deepEqual(ratesAt(s, 6), [0, 0, 0, 0]);
  t.deepEqual(ratesAt(s, 1e6), [0, 0, 0, 0]);
  t.is(s.layers, 4);
  t.is(s.granularity, 'tensor');
  // One layer: it trains from the start.
  t.is(GradDropSchedule.gradualUnfreezing({ layers: 1, epochsPerLayer: 3 }).rate(0, { step: 0, epoch: 0 }), 0);
});

test('stochastic unfreezing lowers p linearly over the epochs before each unfreezing', (t) => {
  // p = clamp((2t − epoch) / 2, 0, 1) with t = 3 − l.
  const s = GradDropSchedule.stochasticUnfreezing({ layers: 4, epochsPerLayer: 2 });
  t.deepEqual(ratesAt(s, 0), [1, 1, 1, 0]);
  t.deepEqual(ratesAt(s, 1), [1, 1, 0.5, 0]);
  t.deepEqual(ratesAt(s, 0.25), [1, 1, 0.875, 0]);
  t.deepEqual(ratesAt(s, 3), [1, 0.5, 0, 0]);
  t.deepEqual(ratesAt(s, 4.5), [0.75, 0, 0, 0]);
  t.deepEqual(ratesAt(s, 6), [0, 0, 0, 0]);
  t.is(s.granularity, 'tensor');
  // The top layer never drops, whatever the epoch.
  for (const epoch of [0, 0.5, 7]) t.is(s.rate(3, { step: 0, epoch }), 0);
});

test('linear, byDepth and constant rates at chosen points', (t) => {
  const lin = GradDropSchedule.linear({ from: 0.2, to: 0.6, steps: 100 });
  t.is(lin.rate(0, { step: 0, epoch: 0 }), 0.2);
  t.true(near(lin.rate(0, { step: 25, epoch: 0 }), 0.3));
  t.true(near(lin.rate(7, { step: 50, epoch: 3 }), 0.4));
  t.is(lin.rate(0, { step: 100, epoch: 0 }), 0.6);
  t.is(lin.rate(0, { step: 2 ** 32 - 1, epoch: 0 }), 0.6, 'constant after the ramp');
  const down = GradDropSchedule.linear({ from: 1, to: 0, steps: 4 });
  t.deepEqual([0, 1, 2, 3, 4, 5].map((step) => down.rate(0, { step, epoch: 0 })), [1, 0.75, 0.5, 0.25, 0, 0]);
  t.is(lin.layers, undefined);
  t.is(lin.granularity, 'element');

  const depth = GradDropSchedule.byDepth({ bottom: 0.8, top: 0.2, layers: 4 });
  const rates = ratesAt(depth, 0);
  [0.8, 0.6, 0.4, 0.2].forEach((want, l) => t.true(near(rates[l], want), `layer ${l}: ${rates[l]}`));
  t.is(rates[0], 0.8);
  t.is(rates[3], 0.2);
  t.is(GradDropSchedule.byDepth({ bottom: 0.3, top: 0.9, layers: 1 }).rate(0, { step: 5, epoch: 2 }), 0.3);
  t.is(depth.granularity, 'element');

  const constant = GradDropSchedule.constant(0.3);
  t.is(constant.rate(0, { step: 0, epoch: 0 }), 0.3);
  t.is(constant.rate(123456, { step: 77, epoch: 9.5 }), 0.3);
});

test('schedule.options builds mask options with the documented defaults', (t) => {
  const gradual = GradDropSchedule.gradualUnfreezing({ layers: 12, epochsPerLayer: 1 });
  t.deepEqual(gradual.options(3, { step: 120, epoch: 2, seed: 7n }), { p: 1, granularity: 'tensor', seed: 7n, step: 120, layer: 3 });
  t.deepEqual(gradual.options(11, { step: 0, epoch: 0, seed: 1, layerId: 40, rescale: 'inverse' }),
    { p: 0, granularity: 'tensor', seed: 1, step: 0, layer: 40, rescale: 'inverse' });
  const constant = GradDropSchedule.constant(0.25);
  t.deepEqual(constant.options(2, { step: 9, epoch: 0, seed: 3 }), { p: 0.25, granularity: 'element', seed: 3, step: 9, layer: 2 });
  t.deepEqual(constant.options(2, { step: 9, epoch: 0, seed: 3, granularity: 'block', block: [4, 8] }),
    { p: 0.25, granularity: 'block', block: [4, 8], seed: 3, step: 9, layer: 2 });
  // The result passes the same check the ops use.
  const mask: MaskOptions = constant.options(0, { step: 1, epoch: 0, seed: 5, granularity: 'row' });
  t.deepEqual(checkMaskOptions(mask, 'options'), mask);
});

test('schedules refuse bad inputs, naming them', (t) => {
  const depth = GradDropSchedule.byDepth({ bottom: 0.8, top: 0.2, layers: 4 });
  const constant = GradDropSchedule.constant(0.1);
  const ok = { step: 0, epoch: 0 };
  const Ctor = GradDropSchedule as unknown as new (...args: unknown[]) => unknown;
  assertRefused(t, [
    [() => GradDropSchedule.constant(NaN), 'E_RANGE', 'p'],
    [() => GradDropSchedule.constant(1.5), 'E_RANGE', 'p'],
    [() => GradDropSchedule.constant(-0.1), 'E_RANGE', 'p'],
    [() => GradDropSchedule.constant('0.1' as never), 'E_DTYPE', 'p'],
    [() => GradDropSchedule.linear({ from: 0, to: 1.01, steps: 10 }), 'E_RANGE', 'options.to'],
    [() => GradDropSchedule.linear({ from: NaN, to: 1, steps: 10 }), 'E_RANGE', 'options.from'],
    [() => GradDropSchedule.linear({ from: 0, to: 1, steps: 0 }), 'E_RANGE', 'options.steps'],
    [() => GradDropSchedule.linear({ from: 0, to: 1, steps: 2.5 }), 'E_RANGE', 'options.steps'],
    [() => GradDropSchedule.linear({ from: 0, to: 1, step: 10 } as never), 'E_CONFIG', 'options.step'],
    [() => GradDropSchedule.linear(undefined as never), 'E_DTYPE', 'options.from'],
    [() => GradDropSchedule.byDepth({ bottom: 0.5, top: -0.1, layers: 3 }), 'E_RANGE', 'options.top'],
    [() => GradDropSchedule.byDepth({ bottom: 0.5, top: 0.1, layers: 0 }), 'E_RANGE', 'options.layers'],
    [() => GradDropSchedule.byDepth({ bottom: 0.5, top: 0.1 } as never), 'E_DTYPE', 'options.layers'],
    [() => GradDropSchedule.gradualUnfreezing({ layers: 4, epochsPerLayer: 0 }), 'E_RANGE', 'options.epochsPerLayer'],
    [() => GradDropSchedule.stochasticUnfreezing({ layers: -1, epochsPerLayer: 1 }), 'E_RANGE', 'options.layers'],
    [() => GradDropSchedule.stochasticUnfreezing([4, 1] as never), 'E_DTYPE', 'options'],
    [() => new Ctor(() => 0.5, undefined, 'element'), 'E_CONFIG', 'new GradDropSchedule'],
    [() => depth.rate(4, ok), 'E_RANGE', 'layer'],
    [() => depth.rate(1.5, ok), 'E_RANGE', 'layer'],
    [() => constant.rate(-1, ok), 'E_RANGE', 'layer'],
    [() => constant.rate(2 ** 32, ok), 'E_RANGE', 'layer'],
    [() => depth.rate(0, { step: -1, epoch: 0 }), 'E_RANGE', 'context.step'],
    [() => depth.rate(0, { step: 2 ** 32, epoch: 0 }), 'E_RANGE', 'context.step'],
    [() => depth.rate(0, { step: 0, epoch: NaN }), 'E_RANGE', 'context.epoch'],
    [() => depth.rate(0, { step: 0, epoch: -1 }), 'E_RANGE', 'context.epoch'],
    [() => depth.rate(0, { step: 0, epoch: Infinity }), 'E_RANGE', 'context.epoch'],
    [() => depth.rate(0, { step: 0 } as never), 'E_DTYPE', 'context.epoch'],
    [() => depth.rate(0, { step: 0, epoch: 0, seed: 1 } as never), 'E_CONFIG', 'context.seed'],
    [() => depth.rate(0, null as never), 'E_DTYPE', 'context'],
    [() => constant.options(0, { ...ok } as never), 'E_DTYPE', 'context.seed'],
    [() => constant.options(0, { ...ok, seed: -1 }), 'E_RANGE', 'context.seed'],
    [() => constant.options(0, { ...ok, seed: 1, granularity: 'blocks' as never }), 'E_RANGE', 'context.granularity'],
    [() => constant.options(0, { ...ok, seed: 1, block: [2, 2] }), 'E_CONFIG', 'context.block'],
    [() => constant.options(0, { ...ok, seed: 1, granularity: 'block' }), 'E_CONFIG', 'context.block'],
    [() => constant.options(0, { ...ok, seed: 1, granularity: 'block', block: [2] as never }), 'E_SHAPE', 'context.block'],
    [() => constant.options(0, { ...ok, seed: 1, granularity: 'block', block: [2, 0] }), 'E_RANGE', 'context.block[1]'],
    [() => constant.options(0, { ...ok, seed: 1, rescale: 'inverted' as never }), 'E_RANGE', 'context.rescale'],
    [() => constant.options(0, { ...ok, seed: 1, layerId: -2 }), 'E_RANGE', 'context.layerId'],
    [() => constant.options(0, { ...ok, seed: 1, layer: 2 } as never), 'E_CONFIG', 'context.layer'],
  ]);
});

test('FreezePlan globs: * stays within a segment, ** crosses dots, the rest is literal', (t) => {
  const single = new FreezePlan({ frozen: ['encoder.*.weight'] });
  t.true(single.isFrozen('encoder.0.weight'));
  t.true(single.isFrozen('encoder..weight'), '* may match nothing');
  t.false(single.isFrozen('encoder.layer.3.weight'), '* does not cross a dot');
  t.false(single.isFrozen('encoderX0Xweight'), 'a dot is literal, not any character');
  t.false(single.isFrozen('encoder.0.weight.grad'), 'the whole name must match');
  t.false(single.isFrozen('x.encoder.0.weight'));

  const double = new FreezePlan({ frozen: ['encoder.**.weight', 'embeddings.**'] });
  t.true(double.isFrozen('encoder.layer.3.attention.self.query.weight'));
  t.true(double.isFrozen('encoder.0.weight'));
  t.false(double.isFrozen('encoder.weight'), 'a.**.b needs a segment between');
  t.true(double.isFrozen('embeddings.word_embeddings.weight'));
  t.false(double.isFrozen('embeddings'));

  const partial = new FreezePlan({ frozen: ['layer.1*.w'] });
  t.true(partial.isFrozen('layer.1.w'));
  t.true(partial.isFrozen('layer.17.w'));
  t.false(partial.isFrozen('layer.2.w'));

  const specials = new FreezePlan({ frozen: ['head(v2).w+', 'a[0]|b', 'x?y', '^c$', 'd\\e', 'f{2}'] });
  for (const name of ['head(v2).w+', 'a[0]|b', 'x?y', '^c$', 'd\\e', 'f{2}']) t.true(specials.isFrozen(name), name);
  for (const name of ['headv2.ww', 'head(v2).www', 'a0', 'b', 'xy', 'xzy', 'c', 'de', 'ff']) t.false(specials.isFrozen(name), name);
});

test('FreezePlan: trainable overrides frozen; options() freezes whole tensors', (t) => {
  const plan = new FreezePlan({ frozen: ['**'], trainable: ['**.bias', 'classifier.**'] });
  t.true(plan.isFrozen('encoder.layer.3.attention.self.query.weight'));
  t.false(plan.isFrozen('encoder.layer.3.attention.self.query.bias'));
  t.false(plan.isFrozen('classifier.dense.weight'));
  t.deepEqual(plan.frozen, ['**']);
  t.deepEqual(plan.trainable, ['**.bias', 'classifier.**']);
  t.false(new FreezePlan({ frozen: [] }).isFrozen('anything'));

  const base: MaskOptions = { p: 0.1, granularity: 'block', block: [2, 4], rescale: 'inverse', seed: 7n, step: 3, layer: 5 };
  t.deepEqual(plan.options('encoder.0.weight', base), { p: 1, granularity: 'tensor', rescale: 'inverse', seed: 7n, step: 3, layer: 5 });
  t.deepEqual(plan.options('encoder.0.bias', base), base);
  t.deepEqual(base.block, [2, 4], 'base is left as it was');
});

test('FreezePlan refuses bad inputs, naming them', (t) => {
  const plan = new FreezePlan({ frozen: ['a.*'] });
  const base: MaskOptions = { p: 0.1, granularity: 'row', seed: 1, step: 0, layer: 0 };
  assertRefused(t, [
    [() => new FreezePlan(undefined as never), 'E_DTYPE', 'options.frozen'],
    [() => new FreezePlan({} as never), 'E_DTYPE', 'options.frozen'],
    [() => new FreezePlan({ frozen: 'a.*' as never }), 'E_DTYPE', 'options.frozen'],
    [() => new FreezePlan({ frozen: ['a', ''] }), 'E_RANGE', 'options.frozen[1]'],
    [() => new FreezePlan({ frozen: [3 as never] }), 'E_DTYPE', 'options.frozen[0]'],
    [() => new FreezePlan({ frozen: [], trainable: [null as never] }), 'E_DTYPE', 'options.trainable[0]'],
    [() => new FreezePlan({ frozen: [], trainable: new Set(['a']) as never }), 'E_DTYPE', 'options.trainable'],
    [() => new FreezePlan({ frozen: [], freeze: ['a'] } as never), 'E_CONFIG', 'options.freeze'],
    [() => new FreezePlan(['a'] as never), 'E_DTYPE', 'options'],
    [() => plan.isFrozen(3 as never), 'E_DTYPE', 'name'],
    [() => plan.options(undefined as never, base), 'E_DTYPE', 'name'],
    [() => plan.options('a.b', undefined as never), 'E_DTYPE', 'base'],
    [() => plan.options('a.b', { ...base, p: 2 }), 'E_RANGE', 'base.p'],
    [() => plan.options('a.b', { ...base, step: -1 }), 'E_RANGE', 'base.step'],
    [() => plan.options('a.b', { ...base, layer: 0.5 }), 'E_RANGE', 'base.layer'],
    [() => plan.options('a.b', { ...base, seed: 2n ** 64n }), 'E_RANGE', 'base.seed'],
    [() => plan.options('a.b', { ...base, mask: 1 } as never), 'E_CONFIG', 'base.mask'],
  ]);
});

// The documented shuffle written out: w·s exactly from 16-bit halves of w (no
// Math.imul), Fisher–Yates from the top, a word skipped while (w·s) mod 2^32 < 2^32 mod s.
function referencePasses(seed: bigint, sub: number, size: number, passes: number): { order: number[]; rejections: number } {
  const words = random.words(passes * size + 4096, { seed, sub, tag: 7 });
  let next = 0;
  let rejections = 0;
  const order: number[] = [];
  for (let pass = 0; pass < passes; pass++) {
    const a = Array.from({ length: size }, (_, i) => i);
    for (let i = size - 1; i > 0; i--) {
      const s = i + 1;
      for (;;) {
        const w = words[next++];
        const [wh, wl] = [Math.floor(w / 65536), w % 65536];
        const sum = ((wh * s) % 65536) * 65536 + wl * s;
        const low = sum % 2 ** 32;
        if (low < 2 ** 32 % s) {
          rejections++;
          continue;
        }
        const j = Math.floor((wh * s) / 65536) + Math.floor(sum / 2 ** 32);
        [a[i], a[j]] = [a[j], a[i]];
        break;
      }
    }
    for (const x of a) order.push(x);
  }
  return { order, rejections };
}

const concat = (batches: ReplayBatch[], key: 'newIndices' | 'replayIndices') => batches.flatMap((b) => Array.from(b[key]));
const firstDifference = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length !== b.length ? Math.min(a.length, b.length) : Array.prototype.findIndex.call(a, (x: number, i: number) => x !== b[i]);

test('replay batches: exact replay share, every new example once per epoch, no repeats, the stream contract', (t) => {
  // r = round(10·0.3) = 3, n = 7: 15 batches of 103 new examples, the last with 5 new and round(5·3/7) = 2 replay.
  const options = { newSize: 103, replaySize: 500, batchSize: 10, replayFraction: 0.3, seed: 11 };
  const sampler = new ReplaySampler(options);
  t.is(sampler.replayPerBatch, 3);
  t.is(sampler.batchesPerEpoch, 15);
  for (const epoch of [0, 1, 5]) {
    const batches = [...sampler.batches(epoch)];
    t.is(batches.length, 15);
    batches.forEach((b, k) => {
      t.is(b.step, epoch * 15 + k);
      t.is(b.newIndices.length, k < 14 ? 7 : 5);
      t.is(b.replayIndices.length, k < 14 ? 3 : 2);
    });
    const news = concat(batches, 'newIndices');
    t.deepEqual([...news].sort((a, b) => a - b), Array.from({ length: 103 }, (_, i) => i), 'each new example exactly once');
    const replays = concat(batches, 'replayIndices');
    t.is(new Set(replays).size, replays.length, 'no replay example twice in an epoch');
    t.true(replays.every((i) => Number.isInteger(i) && i >= 0 && i < 500));
    t.deepEqual(news, referencePasses(11n, 2 * epoch, 103, 1).order);
    t.deepEqual(replays, referencePasses(11n, 2 * epoch + 1, 500, 1).order.slice(0, 44));
  }
  const again = [...new ReplaySampler(options).batches(1)];
  t.deepEqual(again, [...sampler.batches(1)], 'same seed, same batches');
  const other = [...new ReplaySampler({ ...options, seed: 12n }).batches(1)];
  t.notDeepEqual(concat(other, 'newIndices'), concat(again, 'newIndices'), 'another seed, other batches');
  t.notDeepEqual(concat([...sampler.batches(0)], 'newIndices'), concat(again, 'newIndices'), 'another epoch, another order');
});

test('replay: a small replay set is reshuffled when used up, continuing its stream; rounding of r and of the last batch', (t) => {
  // r = round(4·0.5) = 2, n = 2: 10 batches want 20 replay examples from a set of 5: four passes.
  const sampler = new ReplaySampler({ newSize: 20, replaySize: 5, batchSize: 4, replayFraction: 0.5, seed: 3n });
  const replays = concat([...sampler.batches(2)], 'replayIndices');
  t.deepEqual(replays, referencePasses(3n, 5, 5, 4).order);
  for (let pass = 0; pass < 4; pass++) t.deepEqual([...replays.slice(5 * pass, 5 * pass + 5)].sort(), [0, 1, 2, 3, 4]);
  // Two passes of 100: the second shuffle needs more words than the first call's spares left.
  const twoPasses = new ReplaySampler({ newSize: 200, replaySize: 100, batchSize: 10, replayFraction: 0.5, seed: 8 });
  t.deepEqual(concat([...twoPasses.batches(0)], 'replayIndices'), referencePasses(8n, 1, 100, 2).order);

  // round(5·0.5) = 3 (halves up), n = 2; the last batch has 1 new and round(1·3/2) = 2 replay examples.
  const halves = new ReplaySampler({ newSize: 5, replaySize: 9, batchSize: 5, replayFraction: 0.5, seed: 1 });
  t.is(halves.replayPerBatch, 3);
  t.deepEqual([...halves.batches(0)].map((b) => [b.newIndices.length, b.replayIndices.length]), [[2, 3], [2, 3], [1, 2]]);
  // No replay: empty replay indices, and the replay set may be empty.
  const plain = [...new ReplaySampler({ newSize: 6, replaySize: 0, batchSize: 4, replayFraction: 0, seed: 1 }).batches(0)];
  t.deepEqual(plain.map((b) => [b.newIndices.length, b.replayIndices.length]), [[4, 0], [2, 0]]);
  // A single new example, a batch larger than the set.
  t.deepEqual([...new ReplaySampler({ newSize: 1, replaySize: 0, batchSize: 8, replayFraction: 0, seed: 1 }).batches(0)].map((b) => Array.from(b.newIndices)), [[0]]);
});

test('replay: a large shuffle takes rejected draws and refills the words as documented', (t) => {
  // About n²/2^34 ≈ 130 rejected words at n = 1.5·10^6 (2^32 mod s averages s/2): more than
  // the 64 spare words of the first call, so the shuffle fetches more.
  const sampler = new ReplaySampler({ newSize: 1_500_000, replaySize: 0, batchSize: 4096, replayFraction: 0, seed: 5 });
  const got = new Int32Array(1_500_000);
  let at = 0;
  for (const b of sampler.batches(0)) {
    got.set(b.newIndices, at);
    at += b.newIndices.length;
  }
  t.is(at, 1_500_000);
  const want = referencePasses(5n, 0, 1_500_000, 1);
  t.true(want.rejections > 64, `${want.rejections} rejections`);
  t.is(firstDifference(got, want.order), -1);
});

test('ReplaySampler refuses bad inputs, naming them', (t) => {
  const ok = { newSize: 10, replaySize: 10, batchSize: 4, replayFraction: 0.25, seed: 1 };
  const sampler = new ReplaySampler(ok);
  // 2^20 batches per epoch: steps stay below 2^32 up to epoch 4095.
  const long = new ReplaySampler({ newSize: 2 ** 20, replaySize: 0, batchSize: 1, replayFraction: 0, seed: 1 });
  t.notThrows(() => long.batches(4095));
  assertRefused(t, [
    [() => new ReplaySampler({ ...ok, replayFraction: 1 }), 'E_RANGE', 'options.replayFraction'],
    [() => new ReplaySampler({ ...ok, replayFraction: 1.5 }), 'E_RANGE', 'options.replayFraction'],
    [() => new ReplaySampler({ ...ok, replayFraction: -0.1 }), 'E_RANGE', 'options.replayFraction'],
    [() => new ReplaySampler({ ...ok, replayFraction: NaN }), 'E_RANGE', 'options.replayFraction'],
    [() => new ReplaySampler({ ...ok, replayFraction: 0.9 }), 'E_RANGE', 'options.replayFraction'],
    [() => new ReplaySampler({ ...ok, replayFraction: '0.5' as never }), 'E_DTYPE', 'options.replayFraction'],
    [() => new ReplaySampler({ ...ok, replaySize: 0 }), 'E_RANGE', 'options.replaySize'],
    [() => new ReplaySampler({ ...ok, replaySize: -1 }), 'E_RANGE', 'options.replaySize'],
    [() => new ReplaySampler({ ...ok, newSize: 0 }), 'E_RANGE', 'options.newSize'],
    [() => new ReplaySampler({ ...ok, newSize: 2 ** 31 }), 'E_RANGE', 'options.newSize'],
    [() => new ReplaySampler({ ...ok, newSize: 2.5 }), 'E_RANGE', 'options.newSize'],
    [() => new ReplaySampler({ ...ok, batchSize: 0 }), 'E_RANGE', 'options.batchSize'],
    [() => new ReplaySampler({ ...ok, batchSize: 3n as never }), 'E_DTYPE', 'options.batchSize'],
    [() => new ReplaySampler({ ...ok, seed: -1 }), 'E_RANGE', 'options.seed'],
    [() => new ReplaySampler({ ...ok, seed: 'x' as never }), 'E_DTYPE', 'options.seed'],
    [() => new ReplaySampler({ ...ok, seed: undefined as never }), 'E_DTYPE', 'options.seed'],
    [() => new ReplaySampler({ ...ok, fraction: 0.5 } as never), 'E_CONFIG', 'options.fraction'],
    [() => new ReplaySampler(null as never), 'E_DTYPE', 'options'],
    [() => sampler.batches(-1), 'E_RANGE', 'epoch'],
    [() => sampler.batches(0.5), 'E_RANGE', 'epoch'],
    [() => sampler.batches(2 ** 31), 'E_RANGE', 'epoch'],
    [() => sampler.batches('1' as never), 'E_DTYPE', 'epoch'],
    [() => long.batches(4096), 'E_RANGE', 'epoch'],
  ]);
});
