// `axiom check list|show` in-process against the real HTTPS server: the catalog the server runs
// (src/findings/catalog.ts, served by GET /api/v1/checks), filtered by domain and severity, one check
// with its rationale, compliance references and remediation; unknown and malformed ids exit 2.
import { describe, expect, it } from 'vitest';
import { CHECKS, type Check } from '../../src/findings/catalog.js';
import { createOrg, createUser } from '../support/fixtures.js';
import { useCli } from '../support/cli.js';
import { useTestServer } from '../support/http.js';

const s = useTestServer();
const axiom = useCli(s);

describe('axiom check', () => {
  it('lists the whole catalog, or one domain or severity of it', async () => {
    const u = await createUser(s().db, await createOrg(s().db), []);
    const all = await axiom(u, ['check', 'list']);
    expect(all.stderr).toBe('');
    const lines = all.stdout.split('\n');
    expect(lines).toHaveLength(CHECKS.length);
    const ssh = CHECKS.find((c) => c.id === 'sg_open_ssh')!;
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^sg_open_ssh +security +${ssh.severity} +`)),
    );
    for (const c of CHECKS.filter((x) => !x.enabledByDefault))
      expect(lines.find((l) => l.startsWith(`${c.id} `))).toMatch(/\(off by default\)$/);

    const cost = JSON.parse(
      (await axiom(u, ['checks', 'list', '--domain', 'cost', '--json'])).stdout,
    ) as Check[];
    expect(cost.map((c) => c.id)).toEqual(
      CHECKS.filter((c) => c.domain === 'cost').map((c) => c.id),
    );
    const high = JSON.parse(
      (await axiom(u, ['check', 'list', '--severity', 'high', '--json'])).stdout,
    ) as Check[];
    expect(high.length).toBeGreaterThan(0);
    expect(high.every((c) => c.severity === 'high')).toBe(true);
  });

  it('shows one check with why, what it reads, its controls and its remediation', async () => {
    const u = await createUser(s().db, await createOrg(s().db), []);
    const c = CHECKS.find(
      (x) => x.compliance.cisAwsFoundationsV3.length > 0 && !x.remediation.manualReviewRequired,
    )!;
    const r = await axiom(u, ['check', 'show', c.id]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${c.id}: ${c.title}`);
    expect(r.stdout).toContain(`  why: ${c.rationale}`);
    expect(r.stdout).toContain(`CIS ${c.compliance.cisAwsFoundationsV3[0]}`);
    expect(r.stdout).toContain(`    action ${c.remediation.action}, `);
    const json = await axiom(u, ['check', 'show', c.id, '--json']);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(JSON.stringify(c)));
  });

  it('refuses an unknown check, a malformed id and an unknown domain', async () => {
    const u = await createUser(s().db, await createOrg(s().db), []);
    for (const [args, message] of [
      [['check', 'show', 'no_such_check'], /no check is named no_such_check.*not_found/],
      [['check', 'show', '../findings'], /is not a check id.*invalid_input\/usage/],
      [['check', 'list', '--domain', 'everything'], /Allowed choices are security, cost, drift/],
    ] as Array<[string[], RegExp]>) {
      const r = await axiom(u, args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
  });
});
