// Migration 094: internal.verify_event_chains may hand a large chain to parallel workers (they hash,
// the leader merges in order and checks the links). Here a chain large enough for a parallel plan
// (40,000 events of a new organization, past PostgreSQL's minimum parallel scan size), written as the superuser with hashes
// computed by the database's own hash function, verifies intact; one changed event in its middle is
// named; and the plan of the function's query, under the function's settings, does use workers.
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/db.js';
import { randomUUID } from 'node:crypto';

const db = useTestDatabase();
let org: { id: string };
const LANE = 15;
const N = 40_000;

beforeAll(async () => {
  const t = db();
  // An organization of its own with no events yet (its chain is the 40,000 written here).
  org = { id: randomUUID() };
  await t.superuser.query(
    `insert into core.organizations (id, slug, name, plan_tier) values ($1, $2, 'Parallel', 'enterprise')`,
    [org.id, `parallel-${org.id.slice(0, 8)}`],
  );
  await t.superuser.query(
    `do $$
     declare v_prev bytea; v_id uuid; v_at timestamptz; v_hash bytea;
     begin
       for s in 1..${N} loop
         v_id := gen_random_uuid();
         v_at := timestamptz '2026-01-01' + s * interval '1 millisecond';
         v_hash := internal.audit_event_hash('${'$'}{ORG}'::uuid, ${LANE}::smallint, s::bigint, v_id, v_at,
           null::uuid, null::uuid, 'chain.verified', 'audit'::core.domain, null::uuid, null::text, null::uuid,
           null::uuid, null::bytea, null::uuid[], 'event ' || s, '{}'::jsonb, null::bytea, null::uuid, v_prev);
         insert into audit.audit_events (organization_id, lane, seq, id, occurred_at, event_type, domain, reason,
                                         details, previous_hash, hash)
         values ('${'$'}{ORG}'::uuid, ${LANE}, s, v_id, v_at, 'chain.verified', 'audit', 'event ' || s, '{}', v_prev, v_hash);
         v_prev := v_hash;
       end loop;
     end $$`.replaceAll('${ORG}', org.id),
  );
  await t.superuser.query('vacuum analyze audit.audit_events');
}, 180_000);

async function problems(): Promise<Array<{ record_id: string; problem: string }>> {
  const r = await db().superuser.query<{ record_id: string; problem: string }>(
    `select record_id, problem from internal.verify_event_chains($1) where table_name = 'audit.audit_events'`,
    [org.id],
  );
  return r.rows;
}

describe('chain verification in parallel', () => {
  it('plans the large chain with workers under the function’s settings', async () => {
    const c = await db().superuser.connect();
    try {
      const cfg = await c.query<{ proconfig: string[] }>(
        `select proconfig from pg_proc where oid = 'internal.verify_event_chains(uuid)'::regprocedure`,
      );
      const settings = cfg.rows[0]!.proconfig.filter(
        (s) => s.startsWith('parallel') || s.startsWith('max_parallel'),
      );
      expect(settings.sort()).toEqual([
        'max_parallel_workers_per_gather=2',
        'parallel_setup_cost=100',
        'parallel_tuple_cost=0',
      ]);
      for (const s of settings) await c.query(`set ${s.replace('=', ' = ')}`);
      const plan = await c.query<{ 'QUERY PLAN': string }>(
        `explain select e.lane, e.seq, e.hash = internal.audit_event_hash(e.organization_id, e.lane, e.seq, e.id,
                e.occurred_at, e.session_id, e.actor_id, e.event_type, e.domain, e.facility_id, e.target_table,
                e.target_id, e.target_record_id, e.target_record_hash, e.related_ids, e.reason, e.details,
                e.state_ciphertext, e.key_id, e.previous_hash)
           from audit.audit_events e where e.organization_id = $1 order by e.lane, e.seq`,
        [org.id],
      );
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Gather Merge/);
    } finally {
      c.release();
    }
  });

  it('verifies the large chain intact, then names the one event changed in its middle', async () => {
    expect(await problems()).toEqual([]);
    const t = db();
    const id = (
      await t.superuser.query<{ id: string }>(
        `select id from audit.audit_events where organization_id = $1 and lane = $2 and seq = $3`,
        [org.id, LANE, N / 2],
      )
    ).rows[0]!.id;
    const c = await t.superuser.connect();
    try {
      await c.query(`set session_replication_role = replica`);
      await c.query(`update audit.audit_events set reason = 'rewritten' where id = $1`, [id]);
    } finally {
      await c.query('reset session_replication_role');
      c.release();
    }
    expect(await problems()).toEqual([{ record_id: id, problem: 'hash_mismatch' }]);
  });
});
