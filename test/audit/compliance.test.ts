// Compliance mappings in the audit layer: every event type the code emits carries SOC 2 and ISO 27001
// references (and docs/compliance/soc2-iso27001.md says exactly what the database says); a report per
// control lists the evidence of one organization for a period, through the api, the HTTP route and the CLI.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { projectRoot } from '../../src/paths.js';
import { runCli } from '../support/cli.js';
import {
  createFacility,
  createOrg,
  createUser,
  refused,
  type TestOrg,
} from '../support/fixtures.js';
import { useTestServer } from '../support/http.js';
import { tempDir } from './helpers.js';

// Some tests run the real `axiom` command (a Node process with tsx): slow on a busy machine.
vi.setConfig({ testTimeout: 180_000 });

const srv = useTestServer();

/** The event types a migration passes to internal.append_audit_event (its second argument). */
function emittedEventTypes(): Set<string> {
  const found = new Set<string>();
  const dir = path.join(projectRoot, 'db', 'migrations');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.sql'))) {
    const sql = fs.readFileSync(path.join(dir, f), 'utf8').replace(/--[^\n]*/g, '');
    let at = sql.indexOf('append_audit_event(');
    while (at !== -1) {
      // Split the call's arguments at top-level commas, respecting parentheses and quotes.
      let i = at + 'append_audit_event('.length;
      let depth = 0;
      let quoted = false;
      const args: string[] = [''];
      for (; i < sql.length; i++) {
        const ch = sql[i]!;
        if (quoted) {
          if (ch === "'") quoted = false;
        } else if (ch === "'") quoted = true;
        else if (ch === '(') depth++;
        else if (ch === ')') {
          if (depth === 0) break;
          depth--;
        } else if (ch === ',' && depth === 0) {
          args.push('');
          continue;
        }
        args[args.length - 1] += ch;
      }
      const second = args[1] ?? '';
      for (const m of second.matchAll(/'([a-z_]+(?:\.[a-z_]+)+)'/g)) found.add(m[1]!);
      at = sql.indexOf('append_audit_event(', i);
    }
  }
  return found;
}

interface EventType {
  event_type: string;
  soc2: string[];
  iso27001: string[];
  part11: string[];
}

let org: TestOrg;
let other: TestOrg;

beforeAll(async () => {
  const t = srv().db;
  org = await createOrg(t);
  other = await createOrg(t);
  for (const o of [org, other]) {
    for (let i = 0; i < 3; i++)
      await t.api.call(
        'record_propose',
        o.admin.caller,
        'policy',
        null,
        null,
        `rule_${i}`,
        { type: 'approval_rules', min: i + 1 },
        `rule ${i}`,
        'baseline',
      );
  }
});

describe('the mapping', () => {
  it('covers every event type the code emits, each with SOC 2 and ISO 27001 references', async () => {
    const t = srv().db;
    const rows = (
      await t.superuser.query<EventType>(
        `select event_type, soc2, iso27001, part11 from internal.event_types`,
      )
    ).rows;
    const mapped = new Map(rows.map((r) => [r.event_type, r]));
    const emitted = emittedEventTypes();
    expect(emitted.size).toBeGreaterThan(30);
    for (const known of [
      'grant.revoked',
      'delegation.revoked',
      'audit.archived',
      'chain.checkpoint_signed',
    ])
      expect(emitted, known).toContain(known);
    expect([...emitted].filter((e) => !mapped.has(e))).toEqual([]);
    const unmapped = rows.filter((r) => r.soc2.length === 0 || r.iso27001.length === 0);
    expect(unmapped.map((r) => r.event_type)).toEqual([]);
    for (const r of rows) {
      for (const c of r.soc2) expect(c, r.event_type).toMatch(/^(CC\d\.\d|PI1\.\d|A1\.\d|C1\.\d)$/);
      for (const c of r.iso27001) expect(c, r.event_type).toMatch(/^A\.[5-8]\.\d{1,2}$/);
      for (const c of r.part11) expect(c, r.event_type).toMatch(/^11\.\d+(\([a-z]\)(\(\d\))?)?$/);
    }
    // And every event actually written so far is of a mapped type.
    const written = (
      await t.superuser.query<{ event_type: string }>(
        `select distinct event_type from audit.audit_events`,
      )
    ).rows.map((r) => r.event_type);
    expect(written.filter((e) => !mapped.has(e))).toEqual([]);
  });

  it('is documented exactly as the database has it', async () => {
    const t = srv().db;
    const rows = (
      await t.superuser.query<EventType>(
        `select event_type, soc2, iso27001, part11 from internal.event_types order by event_type`,
      )
    ).rows;
    const doc = fs.readFileSync(
      path.join(projectRoot, 'docs', 'compliance', 'soc2-iso27001.md'),
      'utf8',
    );
    const documented = [
      ...doc.matchAll(/^\|\s*`([a-z_]+(?:\.[a-z_]+)+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|/gm),
    ].map((m) => {
      const list = (s: string): string[] =>
        s.trim() === '—' ? [] : s.split(',').map((x) => x.trim());
      return { event_type: m[1]!, soc2: list(m[2]!), iso27001: list(m[3]!), part11: list(m[4]!) };
    });
    const byType = (x: EventType, y: EventType): number => (x.event_type < y.event_type ? -1 : 1);
    documented.sort(byType);
    rows.sort(byType);
    expect(documented).toEqual(rows);
  });
});

describe('a report per control', () => {
  it('lists one organization’s evidence for a period, counted and paged', async () => {
    const t = srv().db;
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const report = await t.api.call<{
      frameworks: string[];
      event_types: Array<{ event_type: string }>;
      counts: Record<string, number>;
      rows: Array<{ id: string; event_type: string; occurred_at: string }>;
      next_cursor: string | null;
    }>('compliance_report', org.admin.caller, 'CC8.1', from, to, null, 2);
    expect(report.frameworks).toEqual(['soc2']);
    expect(report.event_types.map((e) => e.event_type)).toContain('change_request.created');
    expect(report.counts['change_request.created']).toBe(3);
    expect(report.rows).toHaveLength(2);
    expect(report.next_cursor).not.toBeNull();
    const all = [...report.rows];
    let cursor = report.next_cursor;
    while (cursor) {
      const page = await t.api.call<typeof report>(
        'compliance_report',
        org.admin.caller,
        'CC8.1',
        from,
        to,
        cursor,
        2,
      );
      all.push(...page.rows);
      cursor = page.next_cursor;
    }
    const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
    expect(all).toHaveLength(total);
    expect(new Set(all.map((r) => r.id)).size).toBe(total);
    expect([...all].sort((a, b) => a.occurred_at.localeCompare(b.occurred_at))).toEqual(all);
    // Nothing of the other organization.
    const text = JSON.stringify(all);
    expect(text).not.toContain(other.id);
    expect(text).not.toContain(other.admin.id);
    // ISO and Part 11 references work the same way.
    const iso = await t.api.call<{ frameworks: string[] }>(
      'compliance_report',
      org.admin.caller,
      'A.8.32',
      from,
      to,
    );
    expect(iso.frameworks).toEqual(['iso27001']);
    const p11 = await t.api.call<{ counts: Record<string, number> }>(
      'compliance_report',
      org.admin.caller,
      '11.10(e)',
      from,
      to,
    );
    expect(p11.counts['record.version_created']).toBe(3);
  });

  it('refuses unknown controls, empty periods and callers without audit:read', async () => {
    const t = srv().db;
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date().toISOString();
    await refused(
      t.api.call('compliance_report', org.admin.caller, 'CC9.9', from, to),
      'not_found',
      'control_not_found',
    );
    await refused(
      t.api.call('compliance_report', org.admin.caller, "CC6.1'; --", from, to),
      'invalid_input',
      'invalid_control',
    );
    await refused(
      t.api.call('compliance_report', org.admin.caller, 'CC6.1', to, from),
      'invalid_input',
      'invalid_period',
    );
    const site = await createFacility(t, org);
    const nobody = await createUser(t, org, [{ domain: 'audit', level: 'read', facility: site }]);
    await refused(
      t.api.call('compliance_report', nobody.caller, 'CC6.1', from, to),
      'forbidden',
      'missing_grant',
    );
    await refused(t.api.call('compliance_controls', nobody.caller), 'forbidden', 'missing_grant');
    const controls = await t.api.call<{
      controls: Array<{ control: string; event_types: string[] }>;
    }>('compliance_controls', org.admin.caller);
    expect(controls.controls.find((c) => c.control === 'CC6.1')?.event_types).toContain(
      'session.created',
    );
  });

  it('comes from the server with `axiom audit report`', async () => {
    const s = srv();
    const dir = tempDir();
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, s.server.tls.cert);
    const r = await runCli(
      [
        'audit',
        'report',
        '--control',
        'CC8.1',
        '--from',
        new Date(Date.now() - 3_600_000).toISOString(),
        // --url wins over AXIOM_URL (which points nowhere here).
        '--url',
        s.server.url,
      ],
      {
        AXIOM_DATA_DIR: dir,
        AXIOM_URL: 'https://127.0.0.1:9',
        AXIOM_TOKEN: org.admin.token,
        AXIOM_CA_FILE: ca,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^control CC8\.1 \(soc2\)/);
    expect(r.stdout).toMatch(/\s3 {2}change_request\.created: /);
    expect(r.stdout).not.toContain(other.id);
    const c = s.client();
    c.bearer = org.admin.token;
    const bad = await c.get(
      '/api/v1/audit/compliance/report?control=CC8.1&from=yesterday&to=today',
    );
    expect(bad.status).toBe(400);
  });
});
