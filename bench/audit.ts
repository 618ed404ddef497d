// Issue 8 benchmark: export and verify 1,000,000 audit events of one organization. Each figure has a
// baseline measured in the same run on the same rows:
//   export  — api.audit_export page by page as axiom_user, streamed to a JSON Lines file, against the same
//             keyset pages read and rendered as JSON by a plain superuser SELECT (no api, no checks);
//   verify  — `axiom audit verify`'s code over the file (read, parse, verify), against reading and
//             parsing the file alone; and the TypeScript verifier on parsed rows (records/s, the issue-2
//             target of 1,000,000/s), against SHA-256 alone over buffers of the same size.
// The machine is shared: wall-clock rates are printed with the process's CPU-time rates beside them.
import { hash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startExport } from '../src/audit/export.js';
import { RowHasher } from '../src/audit/rowhash.js';
import { ExportVerifier, type ExportRow } from '../src/audit/verifier.js';
import { verifyFile } from '../src/audit/verify-file.js';
import { LocalKeyFile } from '../src/security/kek.js';
import { generateOrgKeyPair, wrapOrgKey } from '../src/security/orgkeys.js';
import { table, writeSection } from './report.js';
import { startBenchCluster } from './support.js';

const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const PAGE = 20_000;

interface Rate {
  seconds: number;
  cpuSeconds: number;
}

async function timed<T>(fn: () => Promise<T> | T): Promise<[T, Rate]> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const v = await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return [v, { seconds, cpuSeconds: (c.user + c.system) / 1e6 }];
}

async function* lines(file: string): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of fs.createReadStream(file, {
    encoding: 'utf8',
    highWaterMark: 1 << 20,
  })) {
    const text = rest + (chunk as string);
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      yield text.slice(start, nl);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    rest = text.slice(start);
  }
  if (rest) yield rest;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-bench-audit-'));
  const b = await startBenchCluster();
  try {
    // An organization made through the api, then 1,000,000 chained events written in bulk (hashes
    // computed here with the verifier's encoder; the database's own verifier agrees, checked below).
    const kek = LocalKeyFile.open(path.join(work, 'kek.json'), { create: true });
    const slug = `bench-audit-${randomUUID().slice(0, 6)}`;
    const password = 'bench-audit-password-1';
    const org = (
      await b.api.raw<{ organization_id: string }>('organization_bootstrap', [
        b.secrets.bootstrapSecret,
        {
          slug,
          name: slug,
          plan_tier: 'enterprise',
          admin: { email: `a@${slug}.x`, display_name: 'A', password },
          key: await wrapOrgKey(kek, await generateOrgKeyPair(2048), slug),
        },
      ])
    ).organization_id;
    const token = (
      await b.api.raw<{ token: string }>('session_login_password', [
        slug,
        `a@${slug}.x`,
        password,
        '{}',
      ])
    ).token;
    const caller = { token };
    const su = b.pool('superuser', 2);
    const heads = await su.query<{ lane: number; seq: number; hash: string }>(
      `select lane, max(seq)::int as seq, (array_agg(encode(hash, 'hex') order by seq desc))[1] as hash
         from audit.audit_events where organization_id = $1 group by lane`,
      [org],
    );
    const last = new Map(heads.rows.map((r) => [r.lane, { seq: r.seq, hash: r.hash }]));
    const hasher = new RowHasher();
    const session = randomUUID();
    const actor = randomUUID();
    const base = Date.now() - 86_400_000;
    const [, gen] = await timed(async () => {
      for (let start = 0; start < EVENTS; start += PAGE) {
        const n = Math.min(PAGE, EVENTS - start);
        const cols: Record<string, unknown[]> = {
          lane: [],
          seq: [],
          id: [],
          at: [],
          type: [],
          reason: [],
          details: [],
          prev: [],
          hash: [],
        };
        for (let i = 0; i < n; i++) {
          const k = start + i;
          const lane = k % 16;
          const head = last.get(lane) ?? { seq: 0, hash: null };
          const r: ExportRow = {
            stream: 'audit_events',
            organization_id: org,
            lane,
            seq: head.seq + 1,
            id: randomUUID(),
            occurred_at: new Date(base + k).toISOString().replace('Z', '000Z'),
            session_id: session,
            actor_id: actor,
            event_type: k % 3 === 0 ? 'grant.created' : 'chain.verified',
            domain: 'audit',
            facility_id: null,
            target_table: null,
            target_id: null,
            target_record_id: null,
            target_record_hash: null,
            related_ids: null,
            reason: `benchmark event ${k}`,
            details: `{"seq": ${k}, "bench": true}`,
            state_ciphertext: null,
            key_id: null,
            previous_hash: head.hash,
          };
          const h = hasher.auditEvent(r);
          last.set(lane, { seq: head.seq + 1, hash: h });
          cols.lane!.push(lane);
          cols.seq!.push(head.seq + 1);
          cols.id!.push(r.id);
          cols.at!.push(r.occurred_at);
          cols.type!.push(r.event_type);
          cols.reason!.push(r.reason);
          cols.details!.push(r.details);
          cols.prev!.push(head.hash);
          cols.hash!.push(h);
        }
        await su.query(
          `insert into audit.audit_events (organization_id, lane, seq, id, occurred_at, session_id, actor_id, event_type,
                                           domain, reason, details, previous_hash, hash)
           select $1, l, s, i, t, $2, $3, ty, 'audit', r, d::jsonb, decode(p, 'hex'), decode(h, 'hex')
             from unnest($4::smallint[], $5::bigint[], $6::uuid[], $7::timestamptz[], $8::text[], $9::text[],
                         $10::text[], $11::text[], $12::text[]) as u(l, s, i, t, ty, r, d, p, h)`,
          [
            org,
            session,
            actor,
            cols.lane,
            cols.seq,
            cols.id,
            cols.at,
            cols.type,
            cols.reason,
            cols.details,
            cols.prev,
            cols.hash,
          ],
        );
      }
    });
    await su.query('vacuum analyze audit.audit_events');
    const sqlCheck = await su.query<{ n: number }>(
      `select count(*)::int as n from internal.verify_event_chains($1)`,
      [org],
    );
    if (sqlCheck.rows[0]!.n !== 0) throw new Error('the generated chains do not verify in SQL');

    // Export: baseline first, then the api.
    const [baseRows, exportBase] = await timed(async () => {
      let count = 0;
      for (const table of ['audit.audit_events', 'audit.session_events']) {
        let after = [-1, 0];
        for (;;) {
          const r = await su.query<{ t: string | null; n: number; lane: number; seq: number }>(
            `select string_agg(row_to_json(e)::text, E'\\n') as t, count(*)::int as n,
                    (array_agg(lane order by lane desc, seq desc))[1] as lane,
                    (array_agg(seq order by lane desc, seq desc))[1]::int as seq
               from (select * from ${table} where organization_id = $1 and (lane, seq) > ($2, $3)
                      order by lane, seq limit ${PAGE}) e`,
            [org, after[0], after[1]],
          );
          count += r.rows[0]!.n;
          if (r.rows[0]!.n < PAGE) break;
          after = [r.rows[0]!.lane, r.rows[0]!.seq];
        }
      }
      return count;
    });
    const file = path.join(work, 'export.jsonl');
    const [exported, exportRate] = await timed(async () => {
      const { chunks } = await startExport(b.api, caller, { format: 'jsonl', pageSize: PAGE });
      const out = fs.createWriteStream(file);
      let bytes = 0;
      for await (const c of chunks) {
        bytes += c.length;
        if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((r) => out.end(() => r()));
      return bytes;
    });
    const rowsInFile =
      EVENTS +
      (
        await su.query<{ n: number }>(
          `select ((select count(*) from audit.audit_events where organization_id = $1) + (select count(*) from audit.session_events where organization_id = $1) - $2)::int as n`,
          [org, EVENTS],
        )
      ).rows[0]!.n;

    // Verify the file end to end; baseline: read and parse it only.
    const [parsed, parseBase] = await timed(async () => {
      let n = 0;
      for await (const l of lines(file)) if (l && JSON.parse(l)) n++;
      return n;
    });
    const [verified, verifyRate] = await timed(() => verifyFile(file));
    if (!verified.intact)
      throw new Error(`the export did not verify: ${JSON.stringify(verified.problems[0])}`);

    // The verifier alone on parsed rows (parsing done beforehand, in batches, not timed); baseline:
    // SHA-256 alone over as many buffers of the rows' encoded size.
    const v = new ExportVerifier();
    let verifierSeconds = 0;
    let verifierCpu = 0;
    let pushed = 0;
    let batch: ExportRow[] = [];
    const flush = async (): Promise<void> => {
      const [, r] = await timed(() => {
        for (const row of batch) v.push(row);
      });
      verifierSeconds += r.seconds;
      verifierCpu += r.cpuSeconds;
      pushed += batch.length;
      batch = [];
    };
    for await (const l of lines(file)) {
      if (!l) continue;
      batch.push(JSON.parse(l) as ExportRow);
      if (batch.length === 100_000) await flush();
    }
    await flush();
    const [inMemory, finishRate] = await timed(() => v.finish());
    if (!inMemory.intact) throw new Error('the in-memory verification failed');
    verifierSeconds += finishRate.seconds;
    verifierCpu += finishRate.cpuSeconds;
    const buf = Buffer.alloc(320, 7);
    const [, shaRate] = await timed(() => {
      for (let i = 0; i < pushed; i++) hash('sha256', buf.subarray(0, 300), 'hex');
    });

    const per = (n: number, s: number): number => Math.round(n / s);
    const row = (name: string, n: number, r: Rate, target = '') => ({
      measurement: name,
      rows: n,
      seconds: r.seconds,
      'rows/s (wall)': per(n, r.seconds),
      'rows/s (CPU of this process)': per(n, r.cpuSeconds),
      target,
    });
    const body = [
      `${EVENTS.toLocaleString('en')} audit events of one organization in 16 lanes (plus its few session events), on the`,
      'embedded PostgreSQL with durable settings. Export = api.audit_export as axiom_user, 20,000 rows a page, one',
      'transaction per page, streamed to a JSON Lines file. The CPU column counts this process only (the export',
      "also spends the database's CPU); on a shared machine it is the steadier figure.",
      '',
      `1-minute load average at the end of the run: ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} cores.`,
      '',
      table([
        row(
          'baseline: same keyset pages as JSON via a plain superuser SELECT',
          baseRows,
          exportBase,
        ),
        row('export: api.audit_export pages → JSON Lines file', rowsInFile, exportRate),
        row('baseline: read + JSON.parse every line of the file', parsed, parseBase),
        row('verify the file (read, parse, verify: `axiom audit verify`)', parsed, verifyRate),
        row('baseline: SHA-256 alone, one 300-byte buffer per row', pushed, shaRate),
        row(
          'TypeScript verifier on parsed rows (src/audit/verifier.ts)',
          pushed,
          { seconds: verifierSeconds, cpuSeconds: verifierCpu },
          '≥ 1,000,000/s',
        ),
      ]),
      `Export file: ${(exported / 2 ** 20).toFixed(0)} MiB. Writing the ${EVENTS.toLocaleString('en')} chained rows took ${gen.seconds.toFixed(1)} s.`,
    ].join('\n');
    writeSection('audit', 'Audit evidence: export and offline verification (issue 8)', body);
  } finally {
    await b.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
