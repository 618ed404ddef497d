// `axiom execution show` output (src/cli/commands/plans.ts executionLines), for the states a test
// against the worker cannot hold still: a rollback that is queued or half done.
import { describe, expect, it } from 'vitest';
import { executionLines, followExecution, type Execution } from '../../src/cli/commands/plans.js';
import type { CliContext } from '../../src/cli/main.js';
import { AppError } from '../../src/errors.js';
import { fakeTerminal } from '../support/cli.js';

const step = (state: string, rollback?: { status: string }) => ({
  index: 0,
  actionId: 'kms.enable_key_rotation',
  resourceArn: 'arn:aws:kms:us-east-1:123456789012:key/k1',
  state,
  ...(rollback ? { rollback } : {}),
});

const execution = (kind: string, status: string, steps: ReturnType<typeof step>[]): Execution => ({
  id: 'x1',
  plan_id: 'p1',
  kind,
  status,
  auto_applied: false,
  progress: { steps },
});

describe('executionLines', () => {
  it('prints an execution with each step as the executor recorded it', () => {
    expect(executionLines(execution('apply', 'succeeded', [step('verified')]))).toEqual([
      'execution x1  apply  succeeded  plan p1',
      '  1. kms.enable_key_rotation  arn:aws:kms:us-east-1:123456789012:key/k1  verified',
    ]);
  });

  it('says who started it, by the name given, or that the agent did', () => {
    const e = {
      ...execution('apply', 'succeeded', [step('verified')]),
      created_by: 'u1',
      plan_record_hash: 'h1',
      plan: { account_id: '123456789012' },
    } as Execution;
    const who = (id: string): string => (id === 'u1' ? 'alice@example.com' : id);
    expect(executionLines(e, who)[1]).toBe(
      '  AWS account 123456789012  started by alice@example.com  plan version h1',
    );
    expect(executionLines({ ...e, auto_applied: true }, who)[1]).toMatch(
      /started by the agent \(auto-apply\)/,
    );
  });

  it('prints a queued rollback as waiting to undo, not as the verified steps it inherited', () => {
    const lines = executionLines(execution('rollback', 'queued', [step('verified')]));
    expect(lines[1]).toBe(
      '  1. undo kms.enable_key_rotation  arn:aws:kms:us-east-1:123456789012:key/k1  waiting',
    );
    expect(lines.join('\n')).not.toMatch(/verified/);
    const done = executionLines(
      execution('rollback', 'rolled_back', [step('rolled_back', { status: 'rolled_back' })]),
    );
    expect(done[1]).toMatch(/ {2}1\. undo kms\.enable_key_rotation .* rolled_back$/);
  });
});

// `axiom execution start --wait` against a scripted server (the journey in test/plans/cli.test.ts
// follows a real execution to success; here the endings a real one cannot be made to reach on cue).
describe('followExecution', () => {
  const ctx = (terminal: ReturnType<typeof fakeTerminal>): CliContext => ({
    env: {},
    io: { out: () => undefined, err: () => undefined, json: () => undefined },
    progressOutput: terminal.stream,
  });
  const scripted = (statuses: string[]) => {
    let i = 0;
    return {
      call: <T>(): Promise<T> => {
        const status = statuses[Math.min(i++, statuses.length - 1)]!;
        const done = status === 'running' ? 'pending' : 'rolled_back';
        return Promise.resolve({
          ...execution('apply', status, [step('verified'), step(done)]),
        } as T);
      },
    };
  };

  it('follows an execution to its end, whatever the ending, with its steps on a bar', async () => {
    const terminal = fakeTerminal();
    const start = execution('apply', 'queued', []);
    const e = await followExecution(
      ctx(terminal),
      scripted(['queued', 'running', 'rolled_back']),
      start,
      60,
      true,
    );
    expect(e.status).toBe('rolled_back');
    expect(terminal.drawn()).toContain('2/2 steps | rolled_back');
  });

  it('gives up after --timeout, saying the execution goes on', async () => {
    const terminal = fakeTerminal();
    const err = await followExecution(
      ctx(terminal),
      scripted(['running']),
      execution('apply', 'queued', []),
      1,
      false,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toMatch(/still running after 1 s; it goes on/);
    expect(terminal.drawn()).toBe('');
  });
});
