// Scanner etiquette (docs/cloud.md): one token bucket per scanned account shared by all its regions
// and services, bounded concurrency per (region, service), adaptive retries on throttling (the
// account's rate drops on every throttle and recovers slowly), and a time budget per service.
import pLimit, { type LimitFunction } from 'p-limit';
import { FirewallRefusal } from './firewall.js';

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);
const TRANSIENT = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

export function errorCode(e: unknown): string {
  const err = e as { name?: string; Code?: string; code?: string };
  return err.name && err.name !== 'Error' ? err.name : (err.Code ?? err.code ?? 'Error');
}

export function isThrottle(e: unknown): boolean {
  return THROTTLING.has(errorCode(e));
}

export function isTransient(e: unknown): boolean {
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return TRANSIENT.has(errorCode(e)) || (status !== undefined && status >= 500);
}

export class BudgetExceeded extends Error {
  override readonly name = 'BudgetExceeded';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A token bucket whose rate adapts: ×0.7 on a throttle, +2% of the ceiling per success. */
export class AccountLimiter {
  private tokens: number;
  private last = Date.now();
  rate: number;
  calls = 0;
  throttles = 0;
  retries = 0;
  private waiters: Promise<void> = Promise.resolve();

  constructor(
    readonly maxRate: number,
    readonly minRate = Math.max(1, maxRate / 20),
  ) {
    this.rate = maxRate;
    this.tokens = Math.min(maxRate, 50);
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(
      Math.max(this.rate, 1),
      this.tokens + ((now - this.last) / 1000) * this.rate,
    );
    this.last = now;
  }

  /** Wait for one token (callers queue in order). */
  async take(): Promise<void> {
    const turn = this.waiters.then(async () => {
      this.refill();
      while (this.tokens < 1) {
        await sleep(Math.ceil(((1 - this.tokens) / this.rate) * 1000));
        this.refill();
      }
      this.tokens -= 1;
    });
    this.waiters = turn.catch(() => {});
    await turn;
  }

  throttled(): void {
    this.throttles++;
    this.rate = Math.max(this.minRate, this.rate * 0.7);
  }

  succeeded(): void {
    if (this.rate < this.maxRate)
      this.rate = Math.min(this.maxRate, this.rate + this.maxRate * 0.02);
  }
}

export interface UnitBudget {
  deadline: number;
}

/** The calls of one (region, service): bounded concurrency, the account's bucket, retries, budget. */
export class UnitCaller {
  private readonly limit: LimitFunction;

  constructor(
    private readonly account: AccountLimiter,
    concurrency: number,
    private readonly budget: UnitBudget,
    private readonly maxAttempts = 12,
    /** 5xx and network errors: a few quick retries, then the unit fails (partial), it does not stall. */
    private readonly maxTransientAttempts = 4,
  ) {
    this.limit = pLimit(concurrency);
  }

  /** Run one AWS call with the etiquette above; the last error is thrown when it never succeeds. */
  call<T>(fn: () => Promise<T>): Promise<T> {
    return this.limit(async () => {
      for (let attempt = 1; ; attempt++) {
        if (Date.now() > this.budget.deadline)
          throw new BudgetExceeded('the time budget of this service ran out');
        await this.account.take();
        this.account.calls++;
        try {
          const out = await fn();
          this.account.succeeded();
          return out;
        } catch (e) {
          if (e instanceof FirewallRefusal) throw e;
          const throttle = isThrottle(e);
          if (!(throttle || isTransient(e)) || attempt >= this.maxAttempts) throw e;
          if (!throttle && attempt >= this.maxTransientAttempts) throw e;
          if (throttle) this.account.throttled();
          this.account.retries++;
          const backoff = Math.min(4000, 25 * 2 ** attempt);
          await sleep(
            Math.min(
              backoff * (0.5 + Math.random() / 2),
              Math.max(0, this.budget.deadline - Date.now()),
            ),
          );
        }
      }
    });
  }
}
