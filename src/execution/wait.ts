// Polling for asynchronous AWS state (snapshots completing, instances stopping, volumes
// modifying), with a deadline. Intervals are configurable so tests against the sandbox run fast.
import { AppError } from '../errors.js';

export interface WaitOptions {
  /** Time between reads; default 5 s. */
  pollMs: number;
  /** Give up after this long; default 30 minutes. */
  timeoutMs: number;
}

export const DEFAULT_WAIT: WaitOptions = { pollMs: 5_000, timeoutMs: 30 * 60_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Read until `done` holds for the value read; returns that value. */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  opts: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() + opts.pollMs > deadline)
      throw new AppError('unavailable', `timed out waiting for ${what}`, {
        reason: 'wait_timeout',
      });
    await sleep(opts.pollMs);
  }
}
