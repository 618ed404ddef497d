// The server's audit timer: runs each task on its interval, never two runs of one task at once, logs a
// failure and keeps going, and stop() waits for a run in progress.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AuditTimer,
  FIRST_RUN_AFTER_SECONDS,
  type AuditTask,
} from '../../src/audit/maintenance.js';
import { createLogger } from '../../src/logger.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('AuditTimer', () => {
  it('runs tasks on their interval without overlapping runs, survives failures, and waits on stop', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      destination: { write: (l: string) => void lines.push(l) } as never,
    });
    let runs = 0;
    let active = 0;
    let maxActive = 0;
    let release: (() => void) | undefined;
    const slow: AuditTask = {
      name: 'slow',
      run: async () => {
        runs++;
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise<void>((r) => (release = r));
        active--;
      },
    };
    let failures = 0;
    const failing: AuditTask = {
      name: 'failing',
      run: async () => {
        failures++;
        throw new Error('database unavailable');
      },
    };
    const timer = new AuditTimer(logger).every(slow, 10).every(failing, 5).every(failing, 0);
    await vi.advanceTimersByTimeAsync(35_000);
    // The slow task started once and is still running: its later ticks were skipped.
    expect(runs).toBe(1);
    expect(maxActive).toBe(1);
    expect(failures).toBe(7);
    expect(lines.filter((l) => l.includes('audit task failed')).length).toBe(7);
    const stopped = timer.stop();
    let done = false;
    void stopped.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(false);
    release!();
    await stopped;
    expect(done).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toBe(1);
    expect(failures).toBe(7);
  });

  it('runs a long-interval task soon after the start, then on its interval; not at all once stopped', async () => {
    vi.useFakeTimers();
    const logger = createLogger({ level: 'silent' });
    let runs = 0;
    const hourly: AuditTask = { name: 'hourly', run: async () => void runs++ };
    const timer = new AuditTimer(logger).every(hourly, 3600);
    await vi.advanceTimersByTimeAsync(FIRST_RUN_AFTER_SECONDS * 1000 - 1);
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    // A server restarted every half hour still checkpoints: the first run does not wait an hour.
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(3600_000 - 1);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    await timer.stop();
    await vi.advanceTimersByTimeAsync(10 * 3600_000);
    expect(runs).toBe(2);

    // Stopped before its first run: it never runs.
    let early = 0;
    const soon = new AuditTimer(logger).every(
      { name: 'early', run: async () => void early++ },
      3600,
    );
    await vi.advanceTimersByTimeAsync(1000);
    await soon.stop();
    await vi.advanceTimersByTimeAsync(2 * 3600_000);
    expect(early).toBe(0);
  });
});
