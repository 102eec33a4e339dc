// Atomic file output: write a temporary file beside the target, then rename, so an
// interrupted job never leaves a half-written result.
//
// The temporary name is unpredictable and opened exclusively without following
// links (a planted symlink cannot redirect the write); the data is fsynced before
// the rename. A temporary file is removed on error, on SIGINT/SIGTERM (the signal
// is then re-raised, so the process still dies of it), and, after a SIGKILL, by
// the next write to the same target (its name carries the dead writer's pid).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FrugalError } from './errors';

const pending = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let hooked = false;
let writes = 0; // bumped by each write, so an older deferred unhook leaves a newer hook alone

// Removes the temporary files of writes in progress, then lets the signal do what
// it would have done: the default action, unless the program has its own listener.
function onSignal(signal: NodeJS.Signals): void {
  for (const tmp of pending) fs.rmSync(tmp, { force: true });
  pending.clear();
  unhookSignals();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function unhookSignals(): void {
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  hooked = false;
}

// Listens for SIGINT/SIGTERM while a write runs. A signal that arrives during the
// (synchronous) write is delivered by the next poll phase of the event loop, so the
// listener stays until two check phases have passed (one full loop turn between
// them); only then is the process's own signal behaviour restored.
function hookSignals(): void {
  const mine = ++writes;
  if (!hooked) {
    for (const s of SIGNALS) process.on(s, onSignal);
    hooked = true;
  }
  setImmediate(() =>
    setImmediate(() => {
      if (writes === mine && hooked) unhookSignals();
    }),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Temporary files of earlier writes to `base` whose writer died (SIGKILL, power loss).
function removeStale(dir: string, base: string): void {
  const prefix = `.${base}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/**
 * What a file holds: text or bytes written at once, or a function that writes it
 * piece by piece through `write` (so a large file never has to be in memory whole).
 */
export type OutputData = string | Uint8Array | ((write: (chunk: Uint8Array) => void) => void);

/** One file to write: its path, its contents, and what it is (for error messages: "the job output"). */
export interface OutputFile {
  file: string;
  data: OutputData;
  what: string;
}

/** Writes all of `chunk` (writeSync may write less than asked, and takes at most 2 GiB at a time). */
function writeAll(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.length; ) done += fs.writeSync(fd, chunk, done, Math.min(chunk.length - done, 1 << 30));
}

const cannotWrite = (file: string, what: string, reason: string): FrugalError =>
  new FrugalError('E_CONFIG', `${file}: cannot write ${what} (${reason})`);

/**
 * Checks that `file` can be written: a path without NUL bytes whose nearest
 * existing ancestor is a directory (missing directories below it are created by
 * the write, as the path asks), and not itself a directory or other non-file.
 * Jobs call it for every output before any work, so a bad path fails at once.
 * @throws FrugalError E_CONFIG (naming the path, what it is and what is wrong).
 */
export function checkWritable(file: string, what: string): void {
  if (file.includes('\0')) throw cannotWrite(JSON.stringify(file), what, 'a path cannot contain a NUL byte');
  const target = path.resolve(file);
  let dir = path.dirname(target);
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(dir, { throwIfNoEntry: false });
    } catch (err) {
      throw cannotWrite(file, what, `${(err as NodeJS.ErrnoException).code}: ${dir}`);
    }
    if (st) {
      if (!st.isDirectory()) throw cannotWrite(file, what, `ENOTDIR: ${dir} is not a directory`);
      break;
    }
    dir = path.dirname(dir);
  }
  const existing = fs.lstatSync(target, { throwIfNoEntry: false });
  if (existing && !existing.isFile() && !existing.isSymbolicLink()) throw cannotWrite(file, what, `EISDIR: ${target} exists and is not a regular file`);
}

/**
 * Writes every file atomically and all or none: each goes to an exclusive temp
 * file beside its target (fsynced), and only when all are written are they renamed
 * into place. A failure before the renames removes every temp file and leaves the
 * targets as they were. A function as `data` is called once, while its temp file is
 * open, and writes the contents through the `write` it is given.
 * @throws FrugalError E_CONFIG (a bad path, see {@link checkWritable}, or a failed write, with the OS reason);
 *   a FrugalError thrown by a `data` function passes unchanged (any other error it throws becomes E_CONFIG).
 */
export function writeFilesAtomic(files: readonly OutputFile[]): void {
  for (const { file, what } of files) checkWritable(file, what);
  hookSignals();
  const staged: Array<[string, string]> = [];
  let current: OutputFile | undefined;
  try {
    for (const f of files) {
      current = f;
      const target = path.resolve(f.file);
      const dir = path.dirname(target);
      const base = path.basename(target);
      fs.mkdirSync(dir, { recursive: true });
      removeStale(dir, base);
      const tmp = path.join(dir, `.${base}.${process.pid}.${randomBytes(12).toString('hex')}.tmp`);
      pending.add(tmp);
      staged.push([tmp, target]);
      const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
      const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
      try {
        const { data } = f;
        if (typeof data === 'function') data((chunk) => writeAll(fd, chunk));
        else fs.writeFileSync(fd, data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    for (const [i, [tmp, target]] of staged.entries()) {
      current = files[i];
      fs.renameSync(tmp, target);
    }
  } catch (err) {
    for (const [tmp] of staged) fs.rmSync(tmp, { force: true });
    // Only a streaming writer's own code throws FrugalErrors here (a bad piece found
    // while writing): they already say what is wrong, so they pass unchanged.
    if (err instanceof FrugalError) throw err;
    throw cannotWrite(current!.file, current!.what, err instanceof Error ? err.message : String(err));
  } finally {
    for (const [tmp] of staged) pending.delete(tmp);
  }
}

/**
 * Writes `data` to `file` atomically (an exclusive same-directory temp file,
 * fsync, rename), creating missing directories of its path; `data` may be a
 * function that streams the contents (see {@link writeFilesAtomic}).
 * @throws FrugalError E_CONFIG (a bad path or a failed write, naming `what` and the OS reason);
 *   as {@link writeFilesAtomic} for errors of a `data` function.
 */
export function writeFileAtomic(file: string, data: OutputData, what: string): void {
  writeFilesAtomic([{ file, data, what }]);
}
