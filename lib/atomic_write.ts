// Atomic file output: write a temporary file beside the target, then rename, so an
// interrupted job never leaves a half-written result.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Writes `data` to `file` atomically (same-directory temp file + rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
