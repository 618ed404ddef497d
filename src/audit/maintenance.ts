// The audit trail's periodic work, run by the server process on a timer: archive what is past each
// plan's retention, and sign and publish a checkpoint of every organization's chains. Each task is a
// plain async function behind AuditTask, so a job queue can run the same thing later instead of the timer.
import type { Api } from '../db/api.js';
import type { Logger } from '../logger.js';
import type { CheckpointService } from './checkpoints.js';

export interface AuditTask {
  readonly name: string;
  run(): Promise<unknown>;
}

/** Archive, for every organization, what is older than its plan's viewable history. */
export function retentionTask(api: Api, serviceSecret: string): AuditTask {
  return {
    name: 'audit.retention',
    run: async () => {
      const orgs = await api.raw<string[]>('maintenance_organizations', [serviceSecret]);
      const results = [];
      for (const org of orgs)
        results.push(await api.raw('retention_archive', [serviceSecret, org]));
      return results;
    },
  };
}

/** Sign and publish a checkpoint of every organization's chains. */
export function checkpointTask(checkpoints: CheckpointService): AuditTask {
  return { name: 'audit.checkpoint', run: async () => await checkpoints.forAll() };
}

/**
 * When a task first runs after a start (or its interval, if shorter). Not a whole interval: a server
 * restarted more often than its checkpoint interval (a deployment every half hour, say) would
 * otherwise never sign a checkpoint at all.
 */
export const FIRST_RUN_AFTER_SECONDS = 30;

/**
 * Runs tasks every `seconds`, the first time FIRST_RUN_AFTER_SECONDS after the start (never two runs
 * of one task at once); stop() waits for a run in progress.
 */
export class AuditTimer {
  private timers: NodeJS.Timeout[] = [];
  private running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly logger: Logger) {}

  every(task: AuditTask, seconds: number): this {
    if (seconds <= 0) return this;
    let busy = false;
    const tick = (): void => {
      if (busy) return;
      busy = true;
      const p = task
        .run()
        .then(
          () => this.logger.debug({ task: task.name }, 'audit task done'),
          (err: unknown) => this.logger.error({ err, task: task.name }, 'audit task failed'),
        )
        .finally(() => {
          busy = false;
          this.running.delete(p);
        });
      this.running.add(p);
    };
    const first = setTimeout(
      () => {
        if (this.stopped) return;
        tick();
        const t = setInterval(tick, seconds * 1000);
        t.unref();
        this.timers.push(t);
      },
      Math.min(seconds, FIRST_RUN_AFTER_SECONDS) * 1000,
    );
    first.unref();
    this.timers.push(first);
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await Promise.allSettled([...this.running]);
  }
}
