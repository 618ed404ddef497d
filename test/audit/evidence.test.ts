// Issue 8, through the running server and the real `axiom` command: the export of an organization holds
// nothing of another; it is refused without audit:read organization-wide; it verifies offline; signed
// checkpoints catch what the chains alone cannot (a rewritten and re-hashed chain, a shortened one) and
// forged checkpoints are rejected; `axiom audit verify` exits 0 / 1 / 2.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CheckpointKey,
  CheckpointService,
  DirectoryCheckpointStore,
  merkleRoot,
  type CheckpointBody,
  type SignedCheckpoint,
} from '../../src/audit/checkpoints.js';
import { csvLines, csvRecordToRow } from '../../src/audit/csv.js';
import { UnreadableExportError, verifyFile } from '../../src/audit/verify-file.js';
import { clientFor } from '../../src/cli/client.js';
import { loadConfig } from '../../src/config/index.js';
import { parse } from 'csv-parse/sync';
import { fakeTerminal, runCli, runInProcess } from '../support/cli.js';
import {
  approveChange,
  createFacility,
  createOrg,
  createUser,
  type TestOrg,
  type TestUser,
} from '../support/fixtures.js';
import { useTestServer } from '../support/http.js';
import { exportToFile, rewriteBusiestLane, tamper, tempDir } from './helpers.js';

const dir = tempDir('axiom-evidence-');
const checkpointDir = path.join(dir, 'checkpoints');
const keyFile = path.join(dir, 'checkpoint-key.pem');
// Some tests run the real `axiom` command (a Node process with tsx): slow on a busy machine.
vi.setConfig({ testTimeout: 180_000 });

const srv = useTestServer({
  AXIOM_CHECKPOINT_DIR: checkpointDir,
  AXIOM_CHECKPOINT_KEY_FILE: keyFile,
});

interface Tenant {
  org: TestOrg;
  facility: string;
  author: TestUser;
  approver: TestUser;
  names: string[];
  ids: string[];
}

let A: Tenant;
let B: Tenant;
let caFile: string;

async function tenant(): Promise<Tenant> {
  const t = srv().db;
  const org = await createOrg(t);
  const facility = await createFacility(t, org);
  const author = await createUser(t, org, [{ domain: 'configuration', level: 'author', facility }]);
  const approver = await createUser(t, org, [
    { domain: 'configuration', level: 'review', facility },
  ]);
  let item: string | null = null;
  const records: string[] = [];
  for (let i = 1; i <= 2; i++) {
    const cr: {
      id: string;
      proposed_record_hash: string;
      target_item_id: string;
      proposed_record_id: string;
    } = await t.api.call(
      'record_propose',
      author.caller,
      'policy',
      facility,
      item,
      'blast_radius',
      { type: 'blast_radius', cap: i },
      `cap ${i}`,
      'tuning',
    );
    item = cr.target_item_id;
    records.push(cr.id, cr.proposed_record_id);
    await t.api.call('change_request_submit', author.caller, cr.id);
    await approveChange(t, approver, cr);
  }
  const signatures = (
    await t.superuser.query<{ id: string }>(
      `select id::text from audit.signatures where organization_id = $1`,
      [org.id],
    )
  ).rows.map((r) => r.id);
  expect(signatures.length).toBe(2);
  return {
    org,
    facility,
    author,
    approver,
    names: [org.slug, `Org ${org.slug}`, org.admin.email, author.email, approver.email],
    ids: [
      org.id,
      facility,
      org.admin.id,
      org.agentId,
      author.id,
      approver.id,
      item!,
      ...records,
      ...signatures,
    ],
  };
}

function cliEnv(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AXIOM_DATA_DIR: dir,
    AXIOM_URL: srv().server.url,
    ...(token ? { AXIOM_TOKEN: token } : {}),
    AXIOM_CA_FILE: caFile,
    AXIOM_CHECKPOINT_DIR: checkpointDir,
    AXIOM_CHECKPOINT_KEY_FILE: keyFile,
    ...extra,
  };
}

beforeAll(async () => {
  A = await tenant();
  B = await tenant();
  caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(caFile, srv().server.tls.cert);
});

describe('the export', () => {
  it('of A holds nothing of B, byte for byte, in JSON Lines and CSV, and verifies offline', async () => {
    const c = srv().client();
    c.bearer = A.org.admin.token;
    for (const format of ['jsonl', 'csv'] as const) {
      const res = await c.request('GET', `/api/v1/audit/export?format=${format}`);
      expect(res.status).toBe(200);
      expect(String(res.headers['content-type'])).toContain(
        format === 'csv' ? 'text/csv' : 'ndjson',
      );
      for (const x of [...A.ids, A.org.slug, A.approver.email])
        expect(res.text, `A's ${x}`).toContain(x);
      for (const x of [...B.ids, ...B.names]) expect(res.text, `B's ${x} leaked`).not.toContain(x);
      const file = path.join(tempDir(), `a.${format}`);
      fs.writeFileSync(file, res.text);
      const v = await verifyFile(file);
      expect(v.problems).toEqual([]);
      expect(v.counts['audit.signatures']).toBe(2);
      expect(v.counts['core.policies']).toBe(2);
      expect(v.manifest?.organization_id).toBe(A.org.id);
    }
  });

  it('is written by `axiom audit export` and checked by `axiom audit verify` (exit 0)', async () => {
    const out = path.join(tempDir(), 'trail.jsonl');
    // --url wins over AXIOM_URL (which points nowhere here).
    const exported = await runCli(
      ['audit', 'export', '--out', out, '--url', srv().server.url],
      cliEnv(A.org.admin.token, { AXIOM_URL: 'https://127.0.0.1:9' }),
    );
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/^exported \d+ rows to /);
    expect(fs.statSync(out).mode & 0o077).toBe(0);
    const text = fs.readFileSync(out, 'utf8');
    for (const x of [...B.ids, ...B.names]) expect(text).not.toContain(x);
    const verified = await runCli(['audit', 'verify', out], cliEnv(''));
    expect(verified.code).toBe(0);
    // No terminal, no bar: what it prints stays clean for scripts.
    expect(verified.stderr).toBe('');
    expect(verified.stdout).toMatch(/^intact: \d+ rows verified/);
    // With no checkpoint to check, it says what the verification cannot see.
    expect(verified.stdout).toMatch(/checkpoints: 0 verified/);
    expect(verified.stdout).toMatch(
      /^note: no signed checkpoint was checked, so entries removed from the end/m,
    );
  });

  it('shows how much of the export has arrived, on a terminal', async () => {
    const out = path.join(tempDir(), 'trail-bar.jsonl');
    const terminal = fakeTerminal();
    const r = await runInProcess(
      ['audit', 'export', '--out', out],
      cliEnv(A.org.admin.token),
      undefined,
      { progressOutput: terminal.stream },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^exported \d+ rows to /);
    expect(terminal.drawn()).toContain(
      `export | ${(fs.statSync(out).size / 1024 / 1024).toFixed(1)} MiB received`,
    );
  });

  it('is refused without audit:read organization-wide, and without a session', async () => {
    const t = srv().db;
    const scoped = await createUser(t, A.org, [
      { domain: 'audit', level: 'review', facility: A.facility },
    ]);
    const c = srv().client();
    for (const token of [A.author.token, scoped.token]) {
      c.bearer = token;
      const res = await c.request('GET', '/api/v1/audit/export?format=jsonl');
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'forbidden', reason: 'missing_grant' });
    }
    c.bearer = undefined;
    expect((await c.request('GET', '/api/v1/audit/export')).status).toBe(401);
    c.bearer = A.org.admin.token;
    const bad = await c.request('GET', '/api/v1/audit/export?format=xml');
    expect(bad.status).toBe(400);
    // The CLI says so and exits 2, writing nothing.
    const out = path.join(tempDir(), 'refused.jsonl');
    const r = await runCli(['audit', 'export', '--out', out], cliEnv(A.author.token));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('forbidden');
    expect(fs.existsSync(out) || fs.existsSync(`${out}.partial`)).toBe(false);
    // Without a token (nor a stored `axiom login` session) the client refuses before any request.
    const anonymous = clientFor(loadConfig({ AXIOM_DATA_DIR: tempDir() }), {});
    await expect(anonymous.stream('/api/v1/audit/export')).rejects.toThrow(/AXIOM_TOKEN/);
    await anonymous.close();
  });
});

describe('signed checkpoints', () => {
  it('are made on demand by audit:review, published read-only, recorded in the trail, and refused to others', async () => {
    const c = srv().client();
    c.bearer = A.author.token;
    expect((await c.post('/api/v1/audit/checkpoints')).status).toBe(403);
    c.bearer = A.org.admin.token;
    const res = await c.post<{ id: string; location: string; root: string; heads: number }>(
      '/api/v1/audit/checkpoints',
    );
    expect(res.status).toBe(201);
    expect(res.body.heads).toBeGreaterThan(2);
    expect(path.dirname(res.body.location)).toBe(path.join(checkpointDir, A.org.id));
    expect(fs.statSync(res.body.location).mode & 0o777).toBe(0o444);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    // The key is not in the database: not its private bytes, not its public ones either.
    const key = CheckpointKey.open(keyFile);
    const pem = fs.readFileSync(keyFile, 'utf8').split('\n').slice(1, -2).join('');
    const found = await srv().db.superuser.query<{ n: number }>(
      `select count(*)::int as n from audit.audit_events where details::text like '%' || $1 || '%'`,
      [pem.slice(0, 40)],
    );
    expect(found.rows[0]!.n).toBe(0);
    const signed = JSON.parse(fs.readFileSync(res.body.location, 'utf8')) as SignedCheckpoint;
    const body = JSON.parse(signed.body) as CheckpointBody;
    expect(body.key_id).toBe(key.keyId);
    expect(merkleRoot(body.heads)).toBe(res.body.root);
    const events = await srv().db.api.call<Array<{ event_type: string; details: string }>>(
      'audit_event_list',
      A.org.admin.caller,
      { event_type: 'chain.checkpoint_signed' },
    );
    expect(events.map((e) => JSON.parse(e.details) as { checkpoint_id: string })).toEqual(
      expect.arrayContaining([expect.objectContaining({ checkpoint_id: res.body.id })]),
    );
  });

  it('catch a whole chain rewritten as superuser with every hash recomputed, which the chains alone cannot', async () => {
    const t = srv().db;
    const org = await createOrg(t);
    const service = new CheckpointService({
      api: t.api,
      serviceSecret: t.workerSecret,
      key: CheckpointKey.open(keyFile),
      store: new DirectoryCheckpointStore(checkpointDir),
    });
    await service.forOrganization(org.id);
    // Before the rewrite: intact, with the checkpoint checked (and no note about a missing one).
    const before = await exportToFile(t.api, org.admin.caller, 'jsonl', service.store);
    const ok = await runCli(
      ['audit', 'verify', before, '--checkpoints', checkpointDir],
      cliEnv(''),
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^checkpoints: 1 verified/m);
    expect(ok.stdout).not.toMatch(/note:|warning:/);
    await rewriteBusiestLane(t, org.id);
    // Both verifiers see a self-consistent chain.
    expect((await t.api.call<{ intact: boolean }>('chain_verify', org.admin.caller)).intact).toBe(
      true,
    );
    const file = await exportToFile(t.api, org.admin.caller, 'jsonl', service.store);
    const alone = await verifyFile(file);
    expect(alone.problems).toEqual([]);
    expect(alone.checkpoints.unchecked, JSON.stringify(alone.checkpoints)).toBe(1);
    // The checkpoint, checked with the published key, does not.
    const r = await runCli(['audit', 'verify', file, '--checkpoints', checkpointDir], cliEnv(''));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^BROKEN: audit\.audit_events \S+ \(checkpoint_mismatch/);
    expect(r.stdout).toContain('the chain was rewritten');
  });

  it('catch the newest entries dropped from a chain', async () => {
    const t = srv().db;
    const org = A.org;
    const service = new CheckpointService({
      api: t.api,
      serviceSecret: t.workerSecret,
      key: CheckpointKey.open(keyFile),
      store: new DirectoryCheckpointStore(checkpointDir),
    });
    await service.forOrganization(org.id);
    // The newest signature of a lane: nothing else appends to the signature chain meanwhile.
    const newest = (
      await t.superuser.query<{ lane: number; seq: number }>(
        `select lane, seq::int as seq from audit.signatures where organization_id = $1 order by signed_at desc limit 1`,
        [org.id],
      )
    ).rows[0]!;
    // And the newest session events of the busiest lane.
    const sessionLane = (
      await t.superuser.query<{ lane: number; seq: number }>(
        `select lane, max(seq)::int as seq from audit.session_events where organization_id = $1 group by lane order by count(*) desc limit 1`,
        [org.id],
      )
    ).rows[0]!;
    await tamper(
      t,
      [
        `delete from audit.signatures where organization_id = $1 and lane = $2 and seq = $3`,
        [org.id, newest.lane, newest.seq],
      ],
      [
        `delete from audit.session_events where organization_id = $1 and lane = $2 and seq > $3`,
        [org.id, sessionLane.lane, sessionLane.seq - 3],
      ],
    );
    const file = await exportToFile(t.api, org.admin.caller, 'jsonl', service.store);
    const alone = await verifyFile(file);
    // Without checkpoints nothing is seen: a shortened chain is still a valid chain, and a dropped
    // signature leaves every record intact.
    expect(alone.problems.filter((p) => p.table !== 'audit.checkpoints')).toEqual([]);
    const keys = { publicKeys: [CheckpointKey.open(keyFile).publicKeyPem()], checkpointDir };
    const checked = await verifyFile(file, keys);
    expect(checked.intact).toBe(false);
    expect(checked.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          table: 'audit.signatures',
          problem: 'checkpoint_truncated',
          position: newest.lane * 1e12 + newest.seq,
        }),
      ]),
    );
    // The session lane was shortened too; new calls may have refilled some of its seqs since, which
    // then differ from what the checkpoint signed.
    expect(
      checked.problems.some(
        (p) =>
          p.table === 'audit.session_events' &&
          (p.problem === 'checkpoint_truncated' || p.problem === 'checkpoint_mismatch'),
      ),
    ).toBe(true);
  });

  it('reject a forged checkpoint: an edited body, or one signed with another key', async () => {
    const t = srv().db;
    const org = await createOrg(t);
    const forgeDir = path.join(tempDir(), 'checkpoints');
    const store = new DirectoryCheckpointStore(forgeDir);
    const real = CheckpointKey.open(keyFile);
    const service = new CheckpointService({
      api: t.api,
      serviceSecret: t.workerSecret,
      key: real,
      store,
    });
    const made = await service.forOrganization(org.id);
    const file = await exportToFile(t.api, org.admin.caller, 'jsonl');
    const trusted = { publicKeys: [real.publicKeyPem()], checkpointDir: forgeDir };
    expect((await verifyFile(file, trusted)).intact).toBe(true);

    // 1. The body edited (a head moved back), the signature kept.
    const signed = JSON.parse(fs.readFileSync(made.location, 'utf8')) as SignedCheckpoint;
    const body = JSON.parse(signed.body) as CheckpointBody;
    body.heads[0]!.hash = 'f'.repeat(64);
    body.root = merkleRoot(body.heads);
    fs.writeFileSync(
      path.join(forgeDir, org.id, 'forged-1.json'),
      JSON.stringify({ ...signed, body: JSON.stringify(body) }),
    );
    let v = await verifyFile(file, trusted);
    expect(v.problems[0]).toMatchObject({
      problem: 'checkpoint_invalid',
      table: 'audit.checkpoints',
    });
    expect(v.problems[0]!.detail).toContain('signature does not match');
    fs.rmSync(path.join(forgeDir, org.id, 'forged-1.json'));

    // 2. A checkpoint signed with a key the verifier does not trust.
    const other = CheckpointKey.open(path.join(tempDir(), 'other.pem'), { create: true });
    fs.writeFileSync(
      path.join(forgeDir, org.id, 'forged-2.json'),
      JSON.stringify(other.sign({ ...body, key_id: other.keyId, root: merkleRoot(body.heads) })),
    );
    v = await verifyFile(file, trusted);
    expect(v.problems[0]).toMatchObject({ problem: 'checkpoint_invalid' });
    expect(v.problems[0]!.detail).toContain('unknown key');
    // The key published beside the checkpoints is the one that counts; a forger's key is not there.
    const published = await verifyFile(file, { checkpointDir: forgeDir });
    expect(published.problems[0]).toMatchObject({ problem: 'checkpoint_invalid' });
    expect(published.checkpoints).toMatchObject({ verified: 1, invalid: 1 });
  });
});

describe('axiom audit verify', () => {
  it('exits 1 naming the first broken entry, and 2 for what is not a readable export', async () => {
    const t = srv().db;
    const file = await exportToFile(t.api, A.org.admin.caller);
    const original = fs.readFileSync(file, 'utf8').split('\n');
    const lines = [...original];
    const i = lines.findIndex((l) => l.includes('"stream":"session_events"'));
    const row = JSON.parse(lines[i]!) as { id: string; operation: string };
    lines[i] = JSON.stringify({ ...row, operation: `${row.operation}!` });
    const broken = path.join(tempDir(), 'broken.jsonl');
    fs.writeFileSync(broken, lines.join('\n'));
    const r1 = await runCli(['audit', 'verify', broken], cliEnv(''));
    expect(r1.code).toBe(1);
    expect(r1.stdout).toContain(`BROKEN: audit.session_events ${row.id} (hash_mismatch`);

    // Cut short at a line boundary: the end row is missing.
    const cut = path.join(tempDir(), 'cut.jsonl');
    fs.writeFileSync(cut, original.slice(0, original.length - 2).join('\n'));
    const v2 = await verifyFile(cut);
    expect(v2.problems.map((p) => p.problem)).toEqual(['export_incomplete']);

    const garbage = path.join(tempDir(), 'garbage.jsonl');
    fs.writeFileSync(garbage, '{"stream":"manifest"}\n{not json\n');
    for (const f of [garbage, path.join(dir, 'does-not-exist.jsonl')]) {
      const r = await runCli(['audit', 'verify', f], cliEnv(''));
      expect(r.code, f).toBe(2);
      expect(r.stderr).toMatch(/^error: /);
    }
    const notExport = path.join(tempDir(), 'x.csv');
    fs.writeFileSync(notExport, 'a,b,c\n1,2,3\n');
    await expect(verifyFile(notExport)).rejects.toThrow(UnreadableExportError);
  });

  it('checks a CSV export as strictly as JSON Lines', async () => {
    const t = srv().db;
    const file = await exportToFile(t.api, A.org.admin.caller, 'csv');
    expect((await verifyFile(file)).intact).toBe(true);
    const text = fs.readFileSync(file, 'utf8');
    // An empty string where NULL was changes the hashed bytes: the CSV keeps the difference.
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.startsWith('"session_events",'));
    const row = csvRecordToRow(
      (
        parse(lines[i]!, { cast: (v, c) => (c.quoting ? v : v === '' ? null : v) }) as Array<
          Array<string | null>
        >
      )[0]!,
    );
    expect(row.error_code ?? null).toBeNull();
    lines[i] = csvLines([{ ...row, error_code: '' }]).trimEnd();
    expect(lines[i]).not.toBe(text.split('\n')[i]);
    const broken = path.join(tempDir(), 'broken.csv');
    fs.writeFileSync(broken, lines.join('\n'));
    const v = await verifyFile(broken);
    expect(v.intact).toBe(false);
    expect(v.problems[0]).toMatchObject({
      table: 'audit.session_events',
      problem: 'hash_mismatch',
    });
  });
});
