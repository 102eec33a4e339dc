// Images in and masks out for EGE-UNet: PNG (pngjs) and JPEG (jpeg-js) decoding,
// the authors' preprocessing, and binary masks as grayscale PNGs.
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

import { FrugalError } from '../errors';

/** A decoded image: RGBA bytes, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The image files (.png, .jpg, .jpeg) of a directory, sorted by name. */
export function listImages(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new FrugalError('E_CONFIG', `/images: cannot read the directory ${dir}: ${(err as Error).message}`);
  }
  return names.filter((n) => /\.(png|jpe?g)$/i.test(n)).sort().map((n) => path.join(dir, n));
}

/** Decodes a PNG or JPEG file (by its first bytes, not its name). @throws FrugalError E_CONFIG (unreadable or neither). */
export function readImage(file: string): RgbaImage {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new FrugalError('E_CONFIG', `/images: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (err) {
    throw new FrugalError('E_CONFIG', `/images: ${file} could not be decoded: ${(err as Error).message}`);
  }
  throw new FrugalError('E_CONFIG', `/images: ${file} is neither a PNG nor a JPEG`);
}

/**
 * Bilinear resampling of `channels` planes [c, h, w] to [c, oh, ow] with half-pixel
 * centres (align_corners = false, no antialiasing): torchvision's resize of a tensor.
 */
export function resamplePlanes(src: Float32Array, channels: number, h: number, w: number, oh: number, ow: number): Float32Array {
  const out = new Float32Array(channels * oh * ow);
  const axis = (n: number, on: number, i: number): [number, number, number] => {
    const x = Math.min(Math.max((i + 0.5) * (n / on) - 0.5, 0), n - 1);
    const i0 = Math.floor(x);
    return [i0, Math.min(i0 + 1, n - 1), x - i0];
  };
  const cols = Array.from({ length: ow }, (_, j) => axis(w, ow, j));
  for (let i = 0; i < oh; i++) {
    const [y0, y1, fy] = axis(h, oh, i);
    for (let c = 0; c < channels; c++) {
      const plane = src.subarray(c * h * w, (c + 1) * h * w), row = c * oh * ow + i * ow;
      for (let j = 0; j < ow; j++) {
        const [x0, x1, fx] = cols[j];
        const top = plane[y0 * w + x0] * (1 - fx) + plane[y0 * w + x1] * fx;
        const bottom = plane[y1 * w + x0] * (1 - fx) + plane[y1 * w + x1] * fx;
        out[row + j] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

/**
 * The authors' test-time input: the RGB planes standardised then min-max scaled to
 * [0, 255] over the whole image (their myNormalize: the dataset mean and std cancel
 * in the min-max step), then resized to size × size. Returns [3, size, size].
 */
export function preprocess(img: RgbaImage, size: number): Float32Array {
  const n = img.width * img.height;
  const planes = new Float32Array(3 * n);
  let lo = Infinity, hi = -Infinity;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = img.data[4 * p + c];
      planes[c * n + p] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < planes.length; i++) planes[i] = (planes[i] - lo) * scale;
  return resamplePlanes(planes, 3, img.height, img.width, size, size);
}

/** A probability map [h, w] back at width × height, thresholded, as a grayscale PNG (0 or 255). */
export function maskPng(prob: Float32Array, h: number, w: number, width: number, height: number, threshold: number): Buffer {
  const resized = resamplePlanes(prob, 1, h, w, height, width);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8 });
  const gray = Buffer.alloc(width * height);
  for (let i = 0; i < gray.length; i++) gray[i] = resized[i] >= threshold ? 255 : 0;
  return PNG.sync.write(Object.assign(png, { data: gray }), { colorType: 0, inputColorType: 0 });
}
