// The server's audit timer: runs each task on its interval, never two runs of one task at once, logs a
// failure and keeps going, and stop() waits for a run in progress.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuditTimer, type AuditTask } from '../../src/audit/maintenance.js';
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
});
