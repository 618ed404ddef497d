// DESIGN.md invariant 18: every api function answers wrong types, NULLs, huge strings, SQL fragments and
// unknown enum values with a clear error carrying a stable code, and writes nothing (beyond the audit
// trail of the refused call). The functions and their parameter types come from the catalog.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/db.js';
import { createFacility, createOrg, type TestOrg } from '../support/fixtures.js';

const db = useTestDatabase();
let org: TestOrg;
let facility: string;

const huge = 'x'.repeat(1_100_000);
const sqlFragments = [
  `'); delete from core.grants; --`,
  `' or '1'='1`,
  `"; drop schema core cascade; --`,
  `\\x00\u0000`,
];

function badValues(type: string): unknown[] {
  const common: unknown[] = [null, huge, ...sqlFragments, '', '   '];
  switch (type) {
    case 'uuid':
      return [...common, 'not-a-uuid', '00000000-0000-0000-0000-00000000000g', 12345];
    case 'integer':
      return [...common, -1, 2 ** 31, 'seven', 1.5];
    case 'timestamp with time zone':
      return [...common, 'yesterday-ish', '2026-13-45T99:99:99Z', 'infinity'];
    case 'jsonb':
      return [
        ...common,
        '{not json',
        '[]',
        '"a string"',
        '{"token": 123}',
        JSON.stringify({ nested: huge }),
      ];
    case 'boolean':
      return [...common, 'perhaps', 2];
    default:
      return [...common, 'unknown_enum_value', 'REVIEW', 'review; drop'];
  }
}

function plausible(type: string, name: string, caller: string): unknown {
  if (name === 'p_caller') return caller;
  switch (type) {
    case 'uuid':
      return name === 'p_facility_id' ? facility : randomUUID();
    case 'integer':
      return 1;
    case 'timestamp with time zone':
      return new Date(Date.now() + 86_400_000).toISOString();
    case 'jsonb':
      return '{}';
    case 'boolean':
      return false;
    default:
      return 'plausible text';
  }
}

async function nonAuditCounts(t: ReturnType<typeof db>): Promise<string> {
  const tables = (
    await t.superuser.query<{ t: string }>(
      `select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('core', 'internal') and c.relkind in ('r', 'p') order by 1`,
    )
  ).rows.map((r) => r.t);
  const parts: string[] = [];
  for (const tb of tables) {
    const r = await t.superuser.query<{ n: number; h: string }>(
      `select count(*)::int as n, coalesce(md5(string_agg(x::text, '|' order by x::text)), '') as h from ${tb} x`,
    );
    parts.push(`${tb}=${r.rows[0]!.n}:${r.rows[0]!.h}`);
  }
  return parts.join('\n');
}

beforeAll(async () => {
  const t = db();
  org = await createOrg(t);
  facility = await createFacility(t, org);
});

describe('bad input to every api function', () => {
  it('is answered with a stable, non-internal error code and changes nothing', async () => {
    const t = db();
    const fns = (
      await t.superuser.query<{ name: string; args: string[]; types: string[] }>(
        `select p.proname as name, p.proargnames as args,
                array(select format_type(x, null) from unnest(p.proargtypes) x) as types
           from pg_proc p where p.pronamespace = 'api'::regnamespace order by 1`,
      )
    ).rows;
    expect(fns.length).toBeGreaterThan(30);
    const caller = JSON.stringify({ token: org.admin.token });
    // Sessions are touched by every call (last_seen_at); compare everything else.
    const before = await nonAuditCounts(t);
    const failures: string[] = [];
    let calls = 0;
    const cases: Array<{ fn: string; label: string; args: unknown[] }> = [];
    for (const fn of fns) {
      if (fn.name === 'session_logout') continue; // its success ends the session the other calls use
      for (let i = 0; i < fn.types.length; i++) {
        for (const bad of badValues(fn.types[i]!)) {
          cases.push({
            fn: fn.name,
            label: `${fn.name} arg ${fn.args[i]}=${String(bad).slice(0, 40)}`,
            args: fn.types.map((ty, j) => (j === i ? bad : plausible(ty, fn.args[j]!, caller))),
          });
        }
      }
    }
    // Four at a time: the calls are independent, and the suite has a time budget.
    let next = 0;
    const run = async (): Promise<void> => {
      for (let c = cases[next++]; c; c = cases[next++]) {
        calls++;
        const outcome = await t.api.raw(c.fn, c.args).then(
          () => 'ok',
          (e: { code?: string }) => e.code ?? 'no-code',
        );
        if (outcome === 'internal' || outcome === 'no-code')
          failures.push(`${c.label} -> ${outcome}`);
      }
    };
    await Promise.all([run(), run(), run(), run()]);
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThan(500);
    const after = await nonAuditCounts(t);
    const changed = after
      .split('\n')
      .filter((line, i) => line !== before.split('\n')[i] && !line.startsWith('core.sessions='));
    expect(changed).toEqual([]);
    // The refused calls were recorded.
    const denied = await t.api.call<unknown[]>('session_event_list', org.admin.caller, {
      outcome: 'error',
      limit: 10,
    });
    expect(denied.length).toBeGreaterThan(0);
  }, 300_000);

  it('rejects a malformed caller object the same way everywhere', async () => {
    const t = db();
    for (const callerValue of [
      '{}',
      '[]',
      '"token"',
      '{"token": null}',
      '{"token": 42}',
      JSON.stringify({ token: huge }),
    ]) {
      const e = await t.api.raw('session_whoami', [callerValue]).then(
        () => null,
        (err: { code?: string; reason?: string }) => `${err.code}/${err.reason}`,
      );
      expect(e).toBe('unauthenticated/no_session');
    }
  });
});
