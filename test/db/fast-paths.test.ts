// The cheaper paths of migrations 080–083 keep the rules they replace: the identity a transaction
// validated is remembered only as an HMAC-bound proof that nobody else can make or reuse; appenders of
// one organization take a free lane instead of waiting, and a lane still has one writer at a time; the
// row checks that moved from CHECK constraints to triggers still refuse every bad row they refused.
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectionString } from '../../src/db/bootstrap.js';
import { useTestDatabase } from '../support/db.js';
import { createFacility, createOrg, type TestOrg } from '../support/fixtures.js';

const db = useTestDatabase();
let a: TestOrg;
let b: TestOrg;
let site: string;
const clients: pg.Client[] = [];

async function connect(role: 'superuser' | 'axiom_user' | 'axiom_reporting'): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: connectionString(db().target(role)) });
  await c.connect();
  await c.query(`set client_encoding = 'UTF8'`);
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end()));
});

beforeAll(async () => {
  const t = db();
  a = await createOrg(t);
  b = await createOrg(t);
  site = await createFacility(t, a);
  await createFacility(t, b);
});

const visible = async (c: pg.Client): Promise<string[]> =>
  (await c.query<{ id: string }>('select id from core.organizations order by id')).rows.map(
    (r) => r.id,
  );

describe('the remembered identity (axiom.identity)', () => {
  it('is written by begin_call, bound to the transaction, and worthless in another one', async () => {
    // The application role can read the setting after a call in its own transaction...
    const app = await connect('axiom_user');
    await app.query('begin');
    const r = await app.query(`select api.session_whoami($1) as r`, [
      JSON.stringify({ token: a.admin.token }),
    ]);
    expect(r.rows[0].r.ok).toBe(true);
    const proof = (await app.query<{ v: string }>(`select current_setting('axiom.identity') as v`))
      .rows[0]!.v;
    expect(proof.split(':')).toHaveLength(5);
    expect(proof.split(':')[2]).toBe(a.id);
    await app.query('commit');

    // ...but a reader who replays it, in another transaction, with no token, a junk token or another
    // organization's token, gets nothing from it.
    const reader = await connect('axiom_reporting');
    for (const token of ['', 'axs_' + 'A'.repeat(43), a.admin.token.slice(0, -2) + 'xy']) {
      await reader.query('begin');
      await reader.query(`select set_config('axiom.session_token', $1, true)`, [token]);
      await reader.query(`select set_config('axiom.identity', $1, true)`, [proof]);
      expect(await visible(reader)).toEqual([]);
      await reader.query('rollback');
    }
    await reader.query('begin');
    await reader.query(`select set_config('axiom.session_token', $1, true)`, [b.admin.token]);
    await reader.query(`select set_config('axiom.identity', $1, true)`, [proof]);
    expect(await visible(reader)).toEqual([b.id]);
    await reader.query('rollback');
  });

  it('cannot be forged: a proof for the current transaction with a guessed key, or edited parts, is ignored', async () => {
    const reader = await connect('axiom_reporting');
    await reader.query('begin');
    const xid = (await reader.query<{ x: string }>(`select pg_current_xact_id()::text as x`))
      .rows[0]!.x;
    const junk = 'axs_' + 'B'.repeat(43);
    await reader.query(`select set_config('axiom.session_token', $1, true)`, [junk]);
    const parts = [a.admin.id, a.admin.id, a.id, xid];
    for (const key of [Buffer.alloc(32), Buffer.from('context_key')]) {
      const mac = createHmac('sha256', key)
        .update(`identity:${parts.join(':')}:${junk}`)
        .digest('hex');
      await reader.query(`select set_config('axiom.identity', $1, true)`, [
        [...parts, mac].join(':'),
      ]);
      expect(await visible(reader)).toEqual([]);
    }
    for (const forged of [
      `${a.id}`,
      `${parts.join(':')}:${'0'.repeat(64)}`,
      ':::::',
      'x:y:z:w:v',
    ]) {
      await reader.query(`select set_config('axiom.identity', $1, true)`, [forged]);
      expect(await visible(reader)).toEqual([]);
    }
    await reader.query('rollback');
  });

  it('vouches only for the token it was made for, in the transaction that made it', async () => {
    // As the function owner inside one transaction (what an api function does): validate A, then swap
    // the token. A junk token sees nothing and B's token sees B, although A's proof is still set.
    const su = await connect('superuser');
    await su.query('begin');
    await su.query('set local role axiom_definer');
    await su.query(`select internal.begin_call($1, 'test.proof')`, [
      JSON.stringify({ token: a.admin.token }),
    ]);
    expect(await visible(su)).toEqual([a.id]);
    await su.query(`select set_config('axiom.session_token', $1, true)`, ['axs_' + 'C'.repeat(43)]);
    expect(await visible(su)).toEqual([]);
    await su.query(`select set_config('axiom.session_token', $1, true)`, [b.admin.token]);
    expect(await visible(su)).toEqual([b.id]);
    await su.query('rollback');
  });
});

describe('the idle timeout', () => {
  it('keeps a session in use alive, refreshing last_seen_at at most every 30 seconds per connection', async () => {
    const t = db();
    const org = await createOrg(t);
    const lastSeen = async (): Promise<number> =>
      (
        await t.superuser.query<{ age: number }>(
          `select extract(epoch from now() - last_seen_at)::int as age from core.sessions
            where principal_id = $1 and revoked_at is null`,
          [org.admin.id],
        )
      ).rows[0]!.age;
    const whoami = async (c: pg.Client): Promise<boolean> =>
      (
        await c.query(`select api.session_whoami($1) as r`, [
          JSON.stringify({ token: org.admin.token }),
        ])
      ).rows[0].r.ok as boolean;
    const age = (minutes: number): Promise<unknown> =>
      t.superuser.query(
        `update core.sessions set last_seen_at = now() - make_interval(mins => $2) where principal_id = $1`,
        [org.admin.id, minutes],
      );
    // Idle for 10 of its 30 minutes: a call on a connection that has not refreshed it lately does.
    await age(10);
    const c = await connect('axiom_user');
    expect(await whoami(c)).toBe(true);
    expect(await lastSeen()).toBeLessThan(5);
    // Within 30 seconds the same connection does not write again...
    await age(10);
    expect(await whoami(c)).toBe(true);
    expect(await lastSeen()).toBeGreaterThanOrEqual(599);
    // ...another connection does (each connection refreshes at most every 30 seconds).
    const other = await connect('axiom_user');
    expect(await whoami(other)).toBe(true);
    expect(await lastSeen()).toBeLessThan(5);
    // And an idle session stays refused whatever a connection remembers about it.
    await age(31);
    expect(await whoami(c)).toBe(false);
  });
});

describe('lanes', () => {
  const appendAs = async (c: pg.Client, org: TestOrg): Promise<{ lane: number; seq: string }> => {
    await c.query(`select set_config('axiom.session_token', $1, true)`, [org.admin.token]);
    const seq = (
      await c.query<{ seq: string }>(
        `select internal.append_audit_event($1, 'chain.verified', null, null, 'audit') as seq`,
        [org.id],
      )
    ).rows[0]!.seq;
    const lane = (
      await c.query<{ lane: number }>(
        `select lane from audit.audit_events where organization_id = $1 and seq = $2::bigint
          order by occurred_at desc limit 1`,
        [org.id, seq],
      )
    ).rows[0]!.lane;
    return { lane, seq };
  };

  it('lets a second appender of the same organization take another lane instead of waiting', async () => {
    const t = db();
    const first = await connect('superuser');
    const second = await connect('superuser');
    const secondPid = (await second.query<{ p: number }>('select pg_backend_pid() as p')).rows[0]!
      .p;
    await first.query('begin');
    await first.query('set local role axiom_definer');
    // The first transaction holds the second connection's own lane of A's audit chain until it ends.
    await first.query(
      `select pg_advisory_xact_lock(hashtextextended('audit:' || $1 || ':' || ($2::int % 16), 0))`,
      [a.id, secondPid],
    );
    await second.query('begin');
    await second.query('set local role axiom_definer');
    await second.query(`set local lock_timeout = '2s'`);
    const got = await appendAs(second, a);
    expect(got.lane).not.toBe(secondPid % 16);
    await second.query('commit');
    await first.query('commit');
    const verified = await t.api.call<{ intact: boolean }>('chain_verify', a.admin.caller);
    expect(verified.intact).toBe(true);
  });

  it('still gives each lane one writer at a time: with all 16 taken, an appender waits', async () => {
    const holder = await connect('superuser');
    const waiter = await connect('superuser');
    await holder.query('begin');
    await holder.query(
      `select pg_advisory_xact_lock(hashtextextended('audit:' || $1 || ':' || l, 0)) from generate_series(0, 15) l`,
      [b.id],
    );
    await waiter.query('begin');
    await waiter.query('set local role axiom_definer');
    await waiter.query(`set local lock_timeout = '300ms'`);
    const err = await appendAs(waiter, b).then(
      () => null,
      (e: { code?: string }) => e.code,
    );
    expect(err).toBe('55P03'); // lock_not_available: it waited for a lane
    await waiter.query('rollback');
    await holder.query('rollback');
  });
});

describe('row checks moved from CHECK constraints to triggers (migration 083)', () => {
  interface Case {
    table: string;
    constraint: string;
    sql: string;
  }
  // One valid row per table, then each check broken on its own; inserted as a superuser (RLS does not
  // apply, the triggers do), each in its own savepoint.
  const org = (): string => a.id;
  const h = `'\\x${'ab'.repeat(32)}'::bytea`;
  const event = (o: Record<string, string>): string => {
    const row: Record<string, string> = {
      organization_id: `'${org()}'`,
      lane: '0',
      seq: '900001',
      occurred_at: 'now()',
      event_type: `'chain.verified'`,
      previous_hash: h,
      hash: h,
      ...o,
    };
    return `insert into audit.audit_events (${Object.keys(row).join(', ')}) values (${Object.values(row).join(', ')})`;
  };
  const session = (o: Record<string, string>): string => {
    const row: Record<string, string> = {
      organization_id: `'${org()}'`,
      lane: '0',
      seq: '900001',
      occurred_at: 'now()',
      operation: `'test.op'`,
      outcome: `'ok'`,
      previous_hash: h,
      hash: h,
      ...o,
    };
    return `insert into audit.session_events (${Object.keys(row).join(', ')}) values (${Object.values(row).join(', ')})`;
  };
  const record = (o: Record<string, string>): string => {
    const row: Record<string, string> = {
      kind: `'policy'`,
      id: 'gen_random_uuid()',
      organization_id: `'${org()}'`,
      facility_id: `'${site}'`,
      domain: `'configuration'`,
      item_key: `'check-' || gen_random_uuid()`,
      content: `'{"type": "x"}'`,
      created_by: `'${a.admin.id}'`,
      change_reason: `'a reason'`,
      lifecycle_state: `'draft'`,
      ...o,
    };
    return `insert into core.records (${Object.keys(row).join(', ')}) values (${Object.values(row).join(', ')})`;
  };
  const change = (o: Record<string, string>): string => {
    const row: Record<string, string> = {
      id: 'gen_random_uuid()',
      organization_id: `'${org()}'`,
      facility_id: `'${site}'`,
      domain: `'configuration'`,
      target_kind: `'policy'`,
      target_item_id: 'gen_random_uuid()',
      proposed_record_id: 'gen_random_uuid()',
      proposed_record_hash: h,
      title: `'a title'`,
      reason: `'a reason'`,
      author_id: `'${a.admin.id}'`,
      ...o,
    };
    return `insert into core.change_requests (${Object.keys(row).join(', ')}) values (${Object.values(row).join(', ')})`;
  };
  const cases = (): Case[] => [
    { table: 'audit_events', constraint: 'audit_events_check', sql: event({ seq: '1' }) },
    {
      table: 'audit_events',
      constraint: 'audit_events_check1',
      sql: event({ state_ciphertext: `'\\x00'` }),
    },
    {
      table: 'audit_events',
      constraint: 'audit_events_details_check',
      sql: event({ details: `jsonb_build_object('x', repeat('y', 20000))` }),
    },
    {
      table: 'audit_events',
      constraint: 'audit_events_hash_check',
      sql: event({ hash: `'\\x00'` }),
    },
    { table: 'audit_events', constraint: 'audit_events_lane_check', sql: event({ lane: '16' }) },
    {
      table: 'audit_events',
      constraint: 'audit_events_previous_hash_check',
      sql: event({ previous_hash: `'\\x00'` }),
    },
    {
      table: 'audit_events',
      constraint: 'audit_events_reason_check',
      sql: event({ reason: `repeat('r', 2001)` }),
    },
    {
      table: 'audit_events',
      constraint: 'audit_events_related_ids_check',
      sql: event({ related_ids: `array[null]::uuid[]` }),
    },
    {
      table: 'audit_events',
      constraint: 'audit_events_related_ids_check',
      sql: event({ related_ids: `array(select gen_random_uuid() from generate_series(1, 101))` }),
    },
    {
      table: 'audit_events',
      constraint: 'audit_events_seq_check',
      sql: event({ seq: '0' }),
    },
    {
      table: 'audit_events',
      constraint: 'audit_events_state_ciphertext_check',
      sql: event({
        state_ciphertext: `decode(repeat('00', 1048577), 'hex')`,
        key_id: 'gen_random_uuid()',
      }),
    },
    {
      table: 'audit_events',
      constraint: 'audit_events_target_record_hash_check',
      sql: event({ target_record_hash: `'\\x00'` }),
    },
    {
      table: 'audit_events',
      constraint: 'audit_events_target_table_check',
      sql: event({ target_table: `repeat('t', 101)` }),
    },
    { table: 'session_events', constraint: 'session_events_check', sql: session({ seq: '1' }) },
    {
      table: 'session_events',
      constraint: 'session_events_error_code_check',
      sql: session({ error_code: `repeat('e', 101)` }),
    },
    {
      table: 'session_events',
      constraint: 'session_events_hash_check',
      sql: session({ hash: `'\\x00'` }),
    },
    {
      table: 'session_events',
      constraint: 'session_events_lane_check',
      sql: session({ lane: '-1' }),
    },
    {
      table: 'session_events',
      constraint: 'session_events_operation_check',
      sql: session({ operation: `''` }),
    },
    {
      table: 'session_events',
      constraint: 'session_events_outcome_check',
      sql: session({ outcome: `'maybe'` }),
    },
    {
      table: 'session_events',
      constraint: 'session_events_previous_hash_check',
      sql: session({ previous_hash: `'\\x00'` }),
    },
    {
      table: 'session_events',
      constraint: 'session_events_request_id_check',
      sql: session({ request_id: `repeat('q', 101)` }),
    },
    {
      table: 'session_events',
      constraint: 'session_events_seq_check',
      sql: session({ seq: '0' }),
    },
    {
      table: 'session_events',
      constraint: 'session_events_target_type_check',
      sql: session({ target_type: `repeat('t', 101)` }),
    },
    {
      table: 'policies',
      constraint: 'records_change_reason_check',
      sql: record({ change_reason: `'  x '` }),
    },
    {
      table: 'policies',
      constraint: 'records_content_check',
      sql: record({ content: `'[1]'` }),
    },
    {
      table: 'policies',
      constraint: 'records_item_key_check',
      sql: record({ item_key: `'-starts-with-a-dash'` }),
    },
    {
      table: 'policies',
      constraint: 'records_item_key_check',
      sql: record({ item_key: `'k' || repeat('x', 200)` }),
    },
    {
      table: 'policies',
      constraint: 'records_item_key_check',
      sql: record({ item_key: `'has space'` }),
    },
    {
      table: 'change_requests',
      constraint: 'change_requests_proposed_record_hash_check',
      sql: change({ proposed_record_hash: `'\\x00'` }),
    },
    {
      table: 'change_requests',
      constraint: 'change_requests_reason_check',
      sql: change({ reason: `'  '` }),
    },
    {
      table: 'change_requests',
      constraint: 'change_requests_required_approvals_check',
      sql: change({ required_approvals: '6' }),
    },
    {
      table: 'change_requests',
      constraint: 'change_requests_state_check',
      sql: change({ state: `'merged'` }),
    },
    {
      table: 'change_requests',
      constraint: 'change_requests_title_check',
      sql: change({ title: `repeat('t', 201)` }),
    },
  ];

  it('refuses each bad row with check_violation naming the same constraint, and accepts the good ones', async () => {
    const su = await connect('superuser');
    await su.query('begin');
    // The valid rows go in (then everything is rolled back).
    for (const ok of [
      event({}),
      session({}),
      record({ item_key: `'k' || repeat('x', 199)` }),
      change({}),
    ]) {
      await su.query(ok);
    }
    const results: Array<{ constraint: string; got: string }> = [];
    for (const c of cases()) {
      await su.query('savepoint s');
      const got = await su.query(c.sql).then(
        () => 'accepted',
        (e: { code?: string; constraint?: string; table?: string }) =>
          `${e.code}/${e.constraint}/${e.table?.startsWith(c.table) ? 'table' : e.table}`,
      );
      await su.query('rollback to savepoint s');
      results.push({ constraint: c.constraint, got });
    }
    await su.query('rollback');
    expect(results).toEqual(
      cases().map((c) => ({ constraint: c.constraint, got: `23514/${c.constraint}/table` })),
    );
  });
});
