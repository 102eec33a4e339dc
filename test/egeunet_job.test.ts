// Job 'egeunet-segment' end to end through `frugal run`: a PNG and a JPEG of other
// sizes, the fixture network's checkpoint, masks at each image's size equal to the
// network's own inference thresholded; the preprocessing against hand-worked values;
// bad inputs refused with no mask left behind.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

import { EgeUNet, Tensor, loadSafetensors } from '../lib';
import { maskPng, preprocess, readImage, resamplePlanes } from '../lib/egeunet/images';
import { runJobFile } from './helpers';

const checkpoint = path.join(__dirname, '..', '..', 'test', 'fixtures', 'egeunet_small.safetensors');

// A smooth RGBA test picture: a bright disc on a darker ramp.
function picture(width: number, height: number): Uint8Array {
  const data = new Uint8Array(4 * width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (Math.min(width, height) / 3) ** 2;
      const i = 4 * (y * width + x);
      data[i] = inside ? 220 : 60 + x % 50;
      data[i + 1] = inside ? 180 : 40 + y % 30;
      data[i + 2] = inside ? 160 : 90;
      data[i + 3] = 255;
    }
  }
  return data;
}

function setUp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-egeunet-'));
  const images = path.join(dir, 'images');
  fs.mkdirSync(images);
  const png = new PNG({ width: 70, height: 50 });
  png.data = Buffer.from(picture(70, 50));
  fs.writeFileSync(path.join(images, 'a.png'), PNG.sync.write(png));
  fs.writeFileSync(path.join(images, 'b.jpg'), jpeg.encode({ width: 40, height: 90, data: Buffer.from(picture(40, 90)) }, 95).data);
  fs.writeFileSync(path.join(images, 'notes.txt'), 'not an image');
  return { dir, images };
}

test('resampling and the authors’ min-max normalisation on hand-worked values', (t) => {
  // Half-pixel bilinear 2 → 4: sample points −0.25, 0.25, 0.75, 1.25 clamp to [0, 1].
  t.deepEqual(Array.from(resamplePlanes(Float32Array.from([0, 1]), 1, 1, 2, 1, 4)), [0, 0.25, 0.75, 1]);
  const img = { width: 2, height: 1, data: Uint8Array.from([10, 20, 30, 255, 50, 60, 70, 255]) };
  // Min 10, max 70 over all channels → (v − 10)·255/60; size 2 keeps the columns, doubles the row.
  const x = preprocess(img, 2);
  t.deepEqual(Array.from(x.subarray(0, 4)), [0, 170, 0, 170]);
  t.is(x[8 + 1], 255);
});

test('masks of a PNG and a JPEG at their own sizes, equal to the network thresholded', (t) => {
  const s = setUp();
  const masks = path.join(s.dir, 'masks'), output = path.join(s.dir, 'segment.json');
  const r = runJobFile(s.dir, { type: 'egeunet-segment', images: s.images, checkpoint, masks, size: 64, batchSize: 1, output });
  t.is(r.status, 0, r.stderr);
  const result = JSON.parse(fs.readFileSync(output, 'utf8'));
  t.is(result.images, 2);
  t.is(result.parameters, 53374);
  t.true(result.seconds.network > 0 && result.seconds.total >= result.seconds.network);
  const net = new EgeUNet({ deepSupervision: false });
  net.loadStateDict(loadSafetensors(checkpoint).tensors);
  for (const [name, w, h] of [['a', 70, 50], ['b', 40, 90]] as const) {
    const written = PNG.sync.read(fs.readFileSync(path.join(masks, `${name}.png`)));
    t.deepEqual([written.width, written.height], [w, h]);
    const img = readImage(path.join(s.images, name === 'a' ? 'a.png' : 'b.jpg'));
    const { mask } = net.forward(Tensor.from(preprocess(img, 64), [1, 3, 64, 64]), { train: false });
    const want = PNG.sync.read(maskPng(mask.data, 64, 64, w, h, 0.5));
    t.deepEqual(written.data, want.data);
  }
});

test('a missing checkpoint or an empty directory fails with no mask written', (t) => {
  const s = setUp();
  const masks = path.join(s.dir, 'masks'), output = path.join(s.dir, 'segment.json');
  const bad = runJobFile(s.dir, { type: 'egeunet-segment', images: s.images, checkpoint: path.join(s.dir, 'none.safetensors'), masks, output });
  t.not(bad.status, 0);
  t.false(fs.existsSync(masks));
  const empty = path.join(s.dir, 'empty');
  fs.mkdirSync(empty);
  const none = runJobFile(s.dir, { type: 'egeunet-segment', images: empty, checkpoint, masks, output });
  t.not(none.status, 0);
  t.regex(none.stderr, /no \.png or \.jpg images/);
  const size = runJobFile(s.dir, { type: 'egeunet-segment', images: s.images, checkpoint, masks, size: 100, output });
  t.not(size.status, 0);
  t.false(fs.existsSync(output));
});
