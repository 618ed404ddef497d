// Helpers for the audit evidence tests: a superuser who tampers with triggers bypassed (and, where the
// point is a rewrite nobody can see in the chain alone, recomputes every hash after it), and exports
// written to files the way `axiom audit export` writes them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { startExport, type ExportFormat } from '../../src/audit/export.js';
import type { CheckpointStore } from '../../src/audit/checkpoints.js';
import type { Api, Caller } from '../../src/db/api.js';
import { connectionString } from '../../src/db/bootstrap.js';
import type { TestDatabase } from '../support/db.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'axiom-audit-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Run statements as the superuser with every trigger disabled (session_replication_role = replica). */
export async function tamper(
  t: TestDatabase,
  ...statements: Array<[string, unknown[]?]>
): Promise<void> {
  const c = new pg.Client({ connectionString: connectionString(t.target('superuser')) });
  await c.connect();
  try {
    await c.query('begin');
    await c.query('set local session_replication_role = replica');
    for (const [sql, params] of statements) await c.query(sql, params ?? []);
    await c.query('commit');
  } finally {
    await c.end();
  }
}

const hashExpr: Record<string, string> = {
  'audit.audit_events': `internal.audit_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at, e.session_id,
      e.actor_id, e.event_type, e.domain, e.facility_id, e.target_table, e.target_id, e.target_record_id,
      e.target_record_hash, e.related_ids, e.reason, e.details, e.state_ciphertext, e.key_id, v_prev)`,
  'audit.session_events': `internal.session_event_hash(e.organization_id, e.lane, e.seq, e.id, e.occurred_at,
      e.session_id, e.principal_id, e.operation, e.target_type, e.target_id, e.outcome, e.error_code, e.client_ip,
      e.request_id, v_prev)`,
};

/**
 * What a superuser who wants an undetectable rewrite does after changing rows: recompute the hash and
 * the link of every row of the organization's lanes in `table`, in order, from `fromSeq` on.
 */
export async function recomputeChains(
  t: TestDatabase,
  table: 'audit.audit_events' | 'audit.session_events',
  org: string,
  opts: { lane?: number; fromSeq?: number; before?: string } = {},
): Promise<void> {
  if (!/^[0-9a-f-]{36}$/.test(org)) throw new Error('not a uuid');
  const lanes = opts.lane === undefined ? 'select generate_series(0, 15)' : `select ${opts.lane}`;
  const from = opts.fromSeq ?? 1;
  await tamper(t, [
    `do $$
     declare
       v_lane integer;
       v_prev bytea;
       e record;
     begin
       ${opts.before ?? ''}
       for v_lane in ${lanes} loop
         select x.hash into v_prev from ${table} x
          where x.organization_id = '${org}' and x.lane = v_lane and x.seq = ${from} - 1;
         for e in select * from ${table} x where x.organization_id = '${org}' and x.lane = v_lane and x.seq >= ${from}
                   order by x.seq loop
           update ${table} x set previous_hash = v_prev, hash = ${hashExpr[table]}
            where x.organization_id = e.organization_id and x.lane = e.lane and x.seq = e.seq
           returning x.hash into v_prev;
         end loop;
       end loop;
     end $$`,
  ]);
}

/**
 * The undetectable-by-the-chain rewrite: change the first audit event of the organization's busiest lane
 * and recompute every hash of that lane after it. Answers the lane.
 */
export async function rewriteBusiestLane(t: TestDatabase, org: string): Promise<number> {
  const lane = (
    await t.superuser.query<{ lane: number }>(
      `select lane from audit.audit_events where organization_id = $1 group by lane order by count(*) desc limit 1`,
      [org],
    )
  ).rows[0]!.lane;
  await recomputeChains(t, 'audit.audit_events', org, {
    lane,
    before: `update audit.audit_events set reason = 'history, rewritten' where organization_id = '${org}' and lane = ${lane} and seq = 1;`,
  });
  return lane;
}

/** An export written to a file, as the server streams it. */
export async function exportToFile(
  api: Api,
  caller: Caller,
  format: ExportFormat = 'jsonl',
  checkpoints?: Pick<CheckpointStore, 'list'>,
): Promise<string> {
  const file = path.join(tempDir('axiom-export-'), `export.${format}`);
  const { chunks } = await startExport(api, caller, {
    format,
    pageSize: 7, // small pages: every stream crosses several keyset cursors
    ...(checkpoints ? { checkpoints } : {}),
  });
  const out = fs.createWriteStream(file);
  for await (const c of chunks) out.write(c);
  await new Promise<void>((resolve, reject) =>
    out.end((e?: Error | null) => (e ? reject(e) : resolve())),
  );
  return file;
}
