// `axiom scan list` and `axiom scan show` in-process against the real HTTPS server and database: a
// connection's scans newest first, one scan with its times, changes, findings and — for a partial scan —
// what could not be read and what that means; the database decides who may read them (configuration
// read at the facility), and bad arguments are refused before any request. The scans are recorded as
// the agent records them (api.scan_start, scan_claim, scan_finish); `axiom scan --connection` itself
// runs a real scan against the sandbox in test/cloud/http.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Scan } from '../../src/cli/commands/scans.js';
import {
  agentSession,
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';
import { useCli } from '../support/cli.js';
import { useTestServer } from '../support/http.js';
import { scanFixture } from '../support/scans.js';

const s = useTestServer();
const axiom = useCli(s);
let org: TestOrg;
let reader: TestUser;
let costOnly: TestUser;
let stranger: TestUser;
let connectionId: string;
let site: string;
let succeeded: string;
let partial: string;
let queued: string;

beforeAll(async () => {
  const t = s().db;
  org = await createOrg(t);
  site = await createFacility(t, org);
  reader = await createUser(t, org, [{ domain: 'configuration', level: 'read', facility: site }]);
  costOnly = await createUser(t, org, [{ domain: 'cost', level: 'read', facility: site }]);
  stranger = await createUser(t, await createOrg(t), []);
  const agent = await agentSession(t, org);
  connectionId = await scanFixture(t, org, agent).connection('cli-scans', site);
  const run = async (status: string, errors: unknown[], summary: object): Promise<string> => {
    const scan = await t.api.call<{ id: string }>(
      'scan_start',
      org.admin.caller,
      connectionId,
      'manual',
    );
    await t.api.call('scan_claim', agent, scan.id);
    await t.api.call('scan_finish', agent, scan.id, status, errors, summary, [], false);
    return scan.id;
  };
  succeeded = await run('succeeded', [], {
    durationMs: 12_345,
    findings: {
      bySeverity: { high: 2, low: 1 },
      byDomain: { security: 2, cost: 1 },
      estimatedMonthlySavingsUsd: 3.65,
    },
  });
  partial = await run(
    'partial',
    [
      {
        unit: 's3:eu-west-1',
        service: 's3',
        region: 'eu-west-1',
        code: 'AccessDenied',
        message: 'the scan role may not call ListBuckets',
      },
    ],
    { durationMs: 4_000 },
  );
  queued = (
    await t.api.call<{ id: string }>('scan_start', org.admin.caller, connectionId, 'manual')
  ).id;
});

describe('axiom scan list', () => {
  it('lists a connection’s scans newest first, with what each found or could not read', async () => {
    const r = await axiom(reader, ['scan', 'list', '--connection', connectionId]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${queued}  queued +manual +\\S+ +- +0 resources$`));
    expect(lines[1]).toMatch(
      new RegExp(`^${partial}  partial +manual +\\S+ +4\\.0 s +0 resources  1 not read$`),
    );
    expect(lines[2]).toMatch(
      new RegExp(`^${succeeded}  succeeded +manual +\\S+ +12\\.3 s +0 resources$`),
    );

    const json = await axiom(reader, ['scan', 'list', '--connection', connectionId, '--json']);
    const scans = JSON.parse(json.stdout) as Scan[];
    expect(scans.map((x) => [x.id, x.status])).toEqual([
      [queued, 'queued'],
      [partial, 'partial'],
      [succeeded, 'succeeded'],
    ]);
    const one = await axiom(reader, ['scan', 'list', '--connection', connectionId, '--limit', '1']);
    expect(one.stdout.split('\n')).toEqual([lines[0]]);
  });

  it('is refused without configuration read at the facility, and for another organization', async () => {
    for (const who of [costOnly, stranger]) {
      const r = await axiom(who, ['scan', 'list', '--connection', connectionId]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stdout + r.stderr).not.toContain(succeeded);
    }
    const forbidden = await axiom(costOnly, ['scan', 'list', '--connection', connectionId]);
    expect(forbidden.stderr).toMatch(/forbidden\/missing_grant/);
    // The scan's changes and the connection's inventory: the same rule.
    expect((await axiom(reader, ['scan', 'changes', succeeded])).stdout).toBe('no changes');
    expect((await axiom(reader, ['connection', 'inventory', connectionId])).stdout).toBe(
      'no resources',
    );
    for (const args of [
      ['scan', 'changes', succeeded],
      ['connection', 'inventory', connectionId],
    ]) {
      expect((await axiom(costOnly, args)).stderr).toMatch(/forbidden\/missing_grant/);
      expect((await axiom(stranger, args)).stderr).toMatch(/not_found/);
    }
    const hidden = await axiom(stranger, ['scan', 'show', succeeded, '--json']);
    expect(hidden.code).toBe(2);
    expect(JSON.parse(hidden.stderr)).toMatchObject({ error: { code: 'not_found' } });
  });

  it('reads the only connection you may read when --connection is left out, and names several', async () => {
    const named = await axiom(reader, ['scan', 'list', '--connection', connectionId]);
    const only = await axiom(reader, ['scan', 'list']);
    expect(only.stderr).toBe('');
    expect(only.code).toBe(0);
    expect(only.stdout).toBe(named.stdout);
    // Nothing to read: a usage error (exit 2) that says what to do.
    const none = await axiom(stranger, ['scan', 'list']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/pass --connection ID.*invalid_input\/usage/);
    // A second connection at the reader's facility: which one is not guessed.
    const t = s().db;
    const second = await scanFixture(t, org, await agentSession(t, org)).connection(
      'cli-scans-second',
      site,
    );
    const several = await axiom(reader, ['scan', 'list']);
    expect(several.code).toBe(2);
    expect(several.stdout).toBe('');
    expect(several.stderr).toMatch(/invalid_input\/usage/);
    expect(several.stderr).toContain(connectionId);
    expect(several.stderr).toContain(second);
  });

  it('refuses bad arguments before any request', async () => {
    const calls = async (): Promise<number> =>
      (
        await s().db.superuser.query<{ n: number }>(
          `select count(*)::int as n from audit.session_events
            where principal_id = $1 and operation like 'scan.%'`,
          [reader.id],
        )
      ).rows[0]!.n;
    const before = await calls();
    for (const args of [
      ['list', '--connection', 'not-an-id'],
      ['list', '--connection', `${connectionId}' or '1'='1`],
      ['list', '--connection', connectionId, '--limit', '0'],
      ['list', '--connection', connectionId, '--limit', '501'],
      ['list', '--connection', connectionId, '--limit', '2; drop table core.scans'],
      ['show', '../connections'],
      // `axiom scan` runs a scan only with --connection (not a required option to Commander, which
      // would then ask it of `scan list` and `scan show` too).
      ['--timeout', '5'],
    ]) {
      const r = await axiom(reader, ['scan', ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/invalid_input\/(invalid_id|usage)/);
    }
    expect(await calls()).toBe(before);
  });
});

describe('axiom scan show', () => {
  it('shows a finished scan with its duration, findings and savings', async () => {
    const r = await axiom(reader, ['scan', 'show', succeeded]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^scan ${succeeded}: succeeded \\(manual\\)  connection ${connectionId}$`, 'm'),
    );
    expect(r.stdout).toMatch(/^ {2}queued \S+, started \S+, finished \S+ \(12\.3 s\)$/m);
    expect(r.stdout).toContain('changes: 0 added, 0 changed, 0 removed');
    expect(r.stdout).toContain(
      'findings: 0 critical, 2 high, 0 medium, 1 low, 0 informational; estimated savings $3.65/month',
    );
    expect(r.stdout).not.toMatch(/partial|error/);
  });

  it('explains a partial scan: what could not be read, and that findings there were kept', async () => {
    const r = await axiom(reader, ['scan', 'show', partial]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^partial: some services or regions could not be read/m);
    expect(r.stdout).toContain('never resolved on missing data');
    expect(r.stdout).toContain(
      '  error s3:eu-west-1: AccessDenied: the scan role may not call ListBuckets',
    );
  });

  it('shows a scan still waiting for the worker, and the same scan as the API in --json', async () => {
    const r = await axiom(reader, ['scan', 'show', queued]);
    expect(r.stdout).toMatch(/^ {2}0 of \? services×regions read, 0 resources so far$/m);
    const json = await axiom(reader, ['scan', 'show', queued, '--json']);
    const api = await s().db.api.call<Scan>('scan_get', reader.caller, queued);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(JSON.stringify(api)));
  });
});
