// Progress for long runs: a single updating line on a TTY, silence otherwise.

/** Reports progress of a long run. */
export interface Progress {
  update(fraction: number, note?: string): void;
  done(): void;
}

/** A progress line on `stream` when it is a TTY; a no-op otherwise. */
export function progressLine(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  let last = 0;
  return {
    update(fraction, note) {
      const now = Date.now();
      if (now - last < 100 && fraction < 1) return;
      last = now;
      const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${note ?? ''}`;
      stream.write(`\r${line.slice(0, (stream.columns || 100) - 1).padEnd((stream.columns || 100) - 1)}`);
    },
    done() {
      stream.write(`\r${' '.repeat((stream.columns || 100) - 1)}\r`);
    },
  };
}
