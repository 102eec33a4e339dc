// Job type 'egeunet-segment': skin-lesion masks from an EGE-UNet checkpoint. Reads
// PNG/JPEG images (a directory or a list), preprocesses them as the authors do,
// runs the network's inference forward in batches, and writes one binary mask PNG
// per image at the image's own size, with a JSON of timings.
import * as path from 'node:path';

import { EgeUNet } from '../egeunet/network';
import { listImages, maskPng, preprocess, readImage } from '../egeunet/images';
import { FrugalError } from '../errors';
import { loadSafetensors } from '../safetensors';
import { Tensor } from '../tensor';
import type { JobType } from './job';

/** Config of an 'egeunet-segment' job. */
export interface EgeUNetSegmentConfig {
  type: 'egeunet-segment';
  /** A directory (its .png/.jpg/.jpeg files, by name) or a list of image files. */
  images: string | string[];
  /** safetensors of the network's state_dict (the authors' key names); channels and bridge are read from it. */
  checkpoint: string;
  /** Directory of the masks: <image name>.png, 0 or 255. */
  masks: string;
  /** The network's input size (a multiple of 32); default 256. */
  size: number;
  /** Probability at or above which a pixel is lesion; default 0.5. */
  threshold: number;
  /** Images per forward; default 8. */
  batchSize: number;
}

function imageFiles(config: EgeUNetSegmentConfig): string[] {
  const files = Array.isArray(config.images) ? config.images : listImages(config.images);
  if (files.length === 0) throw new FrugalError('E_CONFIG', `/images: no .png or .jpg images in ${String(config.images)}`);
  return files;
}

function maskFiles(config: EgeUNetSegmentConfig, images: string[]): string[] {
  const seen = new Map<string, string>();
  return images.map((file) => {
    const mask = path.join(config.masks, `${path.parse(file).name}.png`);
    const other = seen.get(mask);
    if (other) throw new FrugalError('E_CONFIG', `/images: ${other} and ${file} would both write ${mask}`);
    seen.set(mask, file);
    return mask;
  });
}

/** The network a checkpoint holds: channels from its tensors' shapes, bridge from its GAB keys. */
function networkOf(dict: Record<string, Tensor>): EgeUNet {
  const dim = (key: string) => {
    const t = dict[key];
    if (!t) throw new FrugalError('E_CONFIG', `/checkpoint: no tensor '${key}': not an EGE-UNet state_dict`);
    return t.shape[0];
  };
  const channels = ['encoder1.0.weight', 'encoder2.0.weight', 'encoder3.0.weight', 'encoder4.0.ldw.2.weight',
    'encoder5.0.ldw.2.weight', 'encoder6.0.ldw.2.weight'].map(dim);
  const net = new EgeUNet({ channels, bridge: 'GAB1.pre_project.weight' in dict, deepSupervision: false,
    inputChannels: dict['encoder1.0.weight'].shape[1] });
  net.loadStateDict(dict);
  return net;
}

const seconds = (t0: number) => +((performance.now() - t0) / 1000).toFixed(4);

/**
 * `frugal run` job 'egeunet-segment'. Example job file:
 * `{ "type": "egeunet-segment", "images": "images/", "checkpoint": "egeunet.safetensors", "masks": "masks/", "output": "segment.json" }`
 * → `{ "images": 12, "size": 256, "seconds": { "total": 1.2, "network": 0.6, … }, "masks": [...] }`.
 */
export const egeunetSegmentJob: JobType<EgeUNetSegmentConfig> = {
  type: 'egeunet-segment',
  description: 'EGE-UNet lesion masks (PNG) of PNG/JPEG images from a safetensors checkpoint',
  schema: {
    type: 'object',
    properties: {
      type: { const: 'egeunet-segment' },
      images: { oneOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }] },
      checkpoint: { type: 'string', minLength: 1 },
      masks: { type: 'string', minLength: 1 },
      size: { type: 'integer', minimum: 32, maximum: 4096, multipleOf: 32, default: 256 },
      threshold: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
      batchSize: { type: 'integer', minimum: 1, maximum: 1024, default: 8 },
    },
    required: ['type', 'images', 'checkpoint', 'masks'],
    additionalProperties: false,
  },
  outputs: (config) => maskFiles(config, imageFiles(config)),
  async run(config, ctx) {
    const started = performance.now();
    ctx.progress(0, 'loading');
    const images = imageFiles(config);
    const masks = maskFiles(config, images);
    const net = networkOf(loadSafetensors(config.checkpoint).tensors);
    const load = seconds(started);
    const S = config.size, plane = 3 * S * S;
    let decode = 0, network = 0, encode = 0;
    const report: Array<{ image: string; mask: string; width: number; height: number; foreground: number }> = [];
    for (let b0 = 0; b0 < images.length; b0 += config.batchSize) {
      const batch = images.slice(b0, b0 + config.batchSize);
      let t = performance.now();
      const decoded = batch.map(readImage);
      const x = new Float32Array(batch.length * plane);
      decoded.forEach((img, i) => x.set(preprocess(img, S), i * plane));
      decode += seconds(t);
      t = performance.now();
      const { mask } = net.forward(Tensor.from(x, [batch.length, 3, S, S]), { train: false });
      network += seconds(t);
      t = performance.now();
      decoded.forEach((img, i) => {
        const prob = mask.data.subarray(i * S * S, (i + 1) * S * S);
        ctx.writeFile(masks[b0 + i], maskPng(prob, S, S, img.width, img.height, config.threshold));
        let on = 0;
        for (const p of prob) on += p >= config.threshold ? 1 : 0;
        report.push({ image: batch[i], mask: masks[b0 + i], width: img.width, height: img.height, foreground: +(on / (S * S)).toFixed(4) });
      });
      encode += seconds(t);
      ctx.progress((b0 + batch.length) / images.length, `${b0 + batch.length}/${images.length} images`);
    }
    return {
      images: images.length, size: S, batchSize: config.batchSize, parameters: net.parameterCount(),
      seconds: { total: seconds(started), load, decode: +decode.toFixed(4), network: +network.toFixed(4), encode: +encode.toFixed(4) },
      msPerImage: +((network * 1000) / images.length).toFixed(3),
      masks: report,
    };
  },
};
