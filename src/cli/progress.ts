// Progress bars for long work (cli-progress), drawn on the terminal only: on standard error (so stdout
// stays clean for scripts) and only when it is a terminal. Nothing is drawn for --json or a pipe.
import type { CliContext } from './main.js';

export interface Progress {
  update(value: number, payload?: Record<string, unknown>): void;
  setTotal(total: number): void;
  stop(): void;
}

const none: Progress = {
  update: () => undefined,
  setTotal: () => undefined,
  stop: () => undefined,
};

/**
 * A bar in `format` (cli-progress placeholders: {bar}, {value}, {total}, {percentage} and the
 * payload's keys), started at 0 of `total`; a no-op when the output is not a terminal.
 */
export async function progressBar(
  ctx: CliContext,
  format: string,
  total: number,
  payload: Record<string, unknown> = {},
): Promise<Progress> {
  const stream = ctx.progressOutput ?? process.stderr;
  if (!stream.isTTY) return none;
  // Loaded on use: the other commands start faster without it.
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { format, hideCursor: true, stream, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, payload);
  return {
    update: (value, p) => bar.update(value, p ?? {}),
    setTotal: (t) => bar.setTotal(t),
    stop: () => bar.stop(),
  };
}

/** Bytes as MiB with one decimal, for bars over files and downloads. */
export const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
