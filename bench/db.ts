// Issue 2 benchmarks: audited writes through the api as axiom_user, audit appends, and chain
// verification in SQL and in TypeScript — each against a baseline measured in the same run.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { verifyExport, type ExportRow } from '../src/audit/verifier.js';
import type { Caller } from '../src/db/api.js';
import { connectionString } from '../src/db/bootstrap.js';
import { Encoder, auditEventFields, hashRow } from '../src/security/canonical.js';
import { LocalKeyFile } from '../src/security/kek.js';
import { generateOrgKeyPair, wrapOrgKey } from '../src/security/orgkeys.js';
import { interleaved, startBenchCluster, type BenchCluster } from './support.js';
import { table, writeSection } from './report.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const SLICE = Number(process.env.BENCH_SLICE ?? 2);
const CLIENTS = 8;
const VERIFY_ROWS = Number(process.env.BENCH_VERIFY_ROWS ?? 1_000_000);

async function makeOrgs(
  b: BenchCluster,
  n: number,
): Promise<Array<{ id: string; admin: Caller; facility: string }>> {
  const kek = LocalKeyFile.open(
    `${process.env.TMPDIR ?? '/tmp'}/axiom-bench-kek-${process.pid}.json`,
    { create: true },
  );
  const pair = await generateOrgKeyPair(3072);
  const out = [];
  for (let i = 0; i < n; i++) {
    const slug = `bench-${i}-${randomUUID().slice(0, 6)}`;
    const password = `bench-password-${i}-xyz`;
    const org = await b.api.raw<{ organization_id: string }>('organization_bootstrap', [
      b.secrets.bootstrapSecret,
      {
        slug,
        name: slug,
        plan_tier: 'enterprise',
        admin: { email: `a@${slug}.x`, display_name: 'A', password },
        key: await wrapOrgKey(kek, pair, slug),
      },
    ]);
    const token = (
      await b.api.raw<{ token: string }>('session_login_password', [
        slug,
        `a@${slug}.x`,
        password,
        '{}',
      ])
    ).token;
    const admin = { token };
    const facility = (
      await b.api.call<{ id: string }>('facility_create', admin, 'f', 'F', 'staging')
    ).id;
    out.push({ id: org.organization_id, admin, facility });
  }
  return out;
}

async function main(): Promise<void> {
  const b = await startBenchCluster();
  try {
    const su = b.pool('superuser', CLIENTS);
    await su.query(`create table public.bench_raw (id bigserial primary key, organization_id uuid not null, payload jsonb not null,
                      created_at timestamptz not null default now())`);
    const [org] = await makeOrgs(b, 1);
    const author = await b.api.call<{ id: string }>(
      'principal_create',
      org!.admin,
      'author@bench.x',
      'Author',
      'Correct-Horse-Battery-42',
    );
    await b.api.call(
      'grant_create',
      org!.admin,
      author.id,
      'configuration',
      org!.facility,
      'author',
      'bench',
      null,
    );
    const sessions: Caller[] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const slug = (
        await su.query<{ slug: string }>(`select slug from core.organizations where id = $1`, [
          org!.id,
        ])
      ).rows[0]!.slug;
      sessions.push({
        token: (
          await b.api.raw<{ token: string }>('session_login_password', [
            slug,
            'author@bench.x',
            'Correct-Horse-Battery-42',
            '{}',
          ])
        ).token,
      });
    }

    // The workloads, measured in alternating turns against one baseline (support.ts, interleaved):
    // 1. raw single-row INSERT into a plain table (the baseline);
    // 2. an audited write through the api as axiom_user;
    // 3. audit appends alone, as the function owner, over 100 organizations and over one.
    const orgs = [org!, ...(await makeOrgs(b, 99))];
    const definers: pg.Client[] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const client = new pg.Client({ connectionString: connectionString(b.target('superuser')) });
      await client.connect();
      await client.query('set role axiom_definer');
      definers.push(client);
    }
    const append = (client: pg.Client, o: { id: string; admin: Caller }): Promise<unknown> =>
      client.query(
        `select internal.append_audit_event($2, 'chain.verified', null, null, 'audit', p_details => '{"bench": true}')
           from (select set_config('axiom.session_token', $1, true)) s`,
        [o.admin.token, o.id],
      );
    const [raw, audited, spread, single] = await interleaved(b, CLIENTS, SECONDS, SLICE, [
      {
        name: 'raw',
        op: async () => {
          await su.query(
            `insert into public.bench_raw (organization_id, payload) values ($1, $2)`,
            [org!.id, '{"cap": 3}'],
          );
        },
      },
      {
        name: 'audited',
        op: async (c, i) => {
          await b.api.call(
            'record_propose',
            sessions[c]!,
            'policy',
            org!.facility,
            null,
            `k-${c}-${i}`,
            { type: 'bench', cap: i },
            'bench write',
            'benchmark',
          );
        },
      },
      {
        name: 'spread',
        op: async (c, i) => {
          await append(definers[c]!, orgs[(c * 7919 + i) % orgs.length]!);
        },
      },
      {
        name: 'single',
        op: async (c) => {
          await append(definers[c]!, org!);
        },
      },
    ]);
    await Promise.all(definers.map((d) => d.end()));
    const load = os.loadavg()[0]!.toFixed(2);

    // 3. Verification: a long chain written in bulk (hashes computed here, checked there), verified by
    //    the SQL query and by the TypeScript verifier over the same rows.
    const vOrg = randomUUID();
    await su.query(
      `insert into core.organizations (id, slug, name, plan_tier) values ($1, 'verify-bench', 'Verify bench', 'enterprise')`,
      [vOrg],
    );
    const enc = new Encoder();
    const rows: ExportRow[] = [];
    let prev: string | null = null;
    const t0 = Date.now();
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let seq = 1; seq <= VERIFY_ROWS; seq++) {
      const r: ExportRow = {
        stream: 'audit_events',
        organization_id: vOrg,
        lane: 0,
        seq,
        id: randomUUID(),
        occurred_at: new Date(base + seq).toISOString().replace('Z', '000Z'),
        session_id: null,
        actor_id: null,
        event_type: 'chain.verified',
        domain: 'audit',
        facility_id: null,
        target_table: null,
        target_id: null,
        target_record_id: null,
        target_record_hash: null,
        related_ids: null,
        reason: `event ${seq}`,
        details: '{}',
        state_ciphertext: null,
        key_id: null,
        previous_hash: prev,
        hash: '',
      };
      r.hash = hashRow(enc, 'audit.audit_events', auditEventFields, r);
      prev = r.hash as string;
      rows.push(r);
    }
    const genMs = Date.now() - t0;
    const BATCH = 20_000;
    for (let i = 0; i < rows.length; i += BATCH) {
      const chunk = rows.slice(i, i + BATCH);
      const col = (k: string): unknown[] => chunk.map((r) => r[k]);
      await su.query(
        `insert into audit.audit_events (organization_id, lane, seq, id, occurred_at, event_type, domain, reason, details, previous_hash, hash)
         select o, 0, s, i, t, 'chain.verified', 'audit', r, '{}', decode(p, 'hex'), decode(h, 'hex')
           from unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[]) as u(o, s, i, t, r, p, h)`,
        [
          col('organization_id'),
          col('seq'),
          col('id'),
          col('occurred_at'),
          col('reason'),
          col('previous_hash'),
          col('hash'),
        ],
      );
    }
    await su.query('vacuum analyze audit.audit_events');
    const sqlStart = process.hrtime.bigint();
    const sqlResult = await su.query<{ problems: number }>(
      `select count(*)::int as problems from internal.verify_event_chains($1)`,
      [vOrg],
    );
    const sqlSeconds = Number(process.hrtime.bigint() - sqlStart) / 1e9;
    if (sqlResult.rows[0]!.problems !== 0)
      throw new Error('the generated chain did not verify in SQL');
    const tsStart = process.hrtime.bigint();
    const tsResult = verifyExport(rows);
    const tsSeconds = Number(process.hrtime.bigint() - tsStart) / 1e9;
    if (!tsResult.intact) throw new Error('the generated chain did not verify in TypeScript');

    const ratio = (a: number, base: number): string => `${(a / base).toFixed(2)}×`;
    const row = (
      m: typeof raw,
      measurement: string,
      target: string,
    ): Record<string, string | number> => ({
      measurement,
      'ops/s': Math.round(m!.rate),
      'vs baseline': ratio(m!.rate, raw!.rate),
      'server CPU µs/op': Math.round(m!.serverCpuUs),
      target,
    });
    const body = [
      `8 concurrent clients, durable settings (fsync on). The four workloads run in alternating ${SLICE}-second turns`,
      `until each has run ${SECONDS} s, so that the baseline and what is compared with it see the same machine (it is`,
      'shared: other work comes and goes). Baseline: a raw single-row INSERT into a plain table on the same server.',
      'Server CPU is the CPU time of every PostgreSQL process of the cluster per operation (steadier than the',
      `rates when the machine is busy). 1-minute load average at the end: ${load}.`,
      '',
      table([
        row(raw, 'raw single-row INSERT (baseline)', ''),
        row(audited, 'audited write: api.record_propose as axiom_user', '≥ 0.25×'),
        row(spread, 'audit append, 100 organizations', '≥ 0.8×'),
        row(single, 'audit append, one organization', '≥ 0.4×'),
      ]),
      'An audited write here is the heaviest one the core has: session check, grant check, a new version row',
      '(hashed and chained), a change request, two audit events (one with the before/after state sealed with the',
      "organization's RSA-3072 OpenPGP key) and the session event, in one transaction.",
      '',
      table([
        {
          verifier: `SQL (internal.verify_event_chains, one query)`,
          records: VERIFY_ROWS,
          seconds: sqlSeconds,
          'records/s': Math.round(VERIFY_ROWS / sqlSeconds),
          target: '≥ 500,000/s',
        },
        {
          verifier: 'TypeScript (src/audit/verifier.ts, in memory)',
          records: VERIFY_ROWS,
          seconds: tsSeconds,
          'records/s': Math.round(VERIFY_ROWS / tsSeconds),
          target: '≥ 1,000,000/s',
        },
      ]),
      `(Generating and hashing the ${VERIFY_ROWS.toLocaleString('en')} rows in TypeScript took ${(genMs / 1000).toFixed(1)} s.)`,
    ].join('\n');
    writeSection('db', 'Database core (issue 2)', body);
  } finally {
    await b.stop();
  }
}

await main();
