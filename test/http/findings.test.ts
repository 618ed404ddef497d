// The findings routes over HTTPS: the catalog, lists with filters and pages, counts, one finding with
// its versions and check, triage with the grants it needs, and bad input answered with 400 and the
// stable error shape.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/findings/catalog.js';
import {
  agentSession,
  createFacility,
  createOrg,
  createUser,
  type TestUser,
} from '../support/fixtures.js';
import { useTestServer, type HttpClient } from '../support/http.js';
import { syncTwoFindings } from '../support/scans.js';

const s = useTestServer();
let site: string;
let operator: TestUser;
let author: TestUser;
let configReader: TestUser;
let findingId: string;

function as(user: TestUser): HttpClient {
  const c = s().client();
  c.bearer = user.token;
  return c;
}

beforeAll(async () => {
  const t = s().db;
  const org = await createOrg(t);
  site = await createFacility(t, org);
  operator = await createUser(t, org, [
    { domain: 'security', level: 'operate', facility: site },
    { domain: 'cost', level: 'operate', facility: site },
  ]);
  author = await createUser(t, org, [{ domain: 'security', level: 'author', facility: site }]);
  const agent = await agentSession(t, org);
  configReader = await createUser(t, org, [
    { domain: 'configuration', level: 'read', facility: site },
  ]);
  await syncTwoFindings(t, org, agent, site, 'http');
  const list = await as(operator).get<{ items: Array<{ id: string; check_id: string }> }>(
    `/api/v1/findings?facility_id=${site}&check_id=sg_open_ssh`,
  );
  findingId = list.body.items[0]!.id;
});

describe('findings over HTTP', () => {
  it('serves the catalog', async () => {
    const r = await s()
      .client()
      .get<{ checks: Array<{ id: string; remediation: unknown }> }>('/api/v1/checks');
    expect(r.status).toBe(200);
    expect(r.body.checks.map((c) => c.id)).toEqual(CHECKS.map((c) => c.id));
  });

  it('lists, counts and shows a finding with its versions and check', async () => {
    const c = as(operator);
    const list = await c.get<{ items: unknown[]; next_cursor: string | null }>(
      `/api/v1/findings?facility_id=${site}&sort=saving&limit=1`,
    );
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    const next = await c.get<{ items: unknown[]; next_cursor: string | null }>(
      `/api/v1/findings?facility_id=${site}&sort=saving&limit=1&cursor=${encodeURIComponent(list.body.next_cursor!)}`,
    );
    expect(next.body.items).toHaveLength(1);
    expect(next.body.items).not.toEqual(list.body.items);
    const counts = await c.get<Record<string, unknown>>(
      `/api/v1/findings/counts?facility_id=${site}`,
    );
    expect(counts.body).toMatchObject({ active: 2, by_domain: { security: 1, cost: 1, drift: 0 } });
    expect(Number(counts.body.estimated_monthly_savings_usd)).toBe(3.65);
    const one = await c.get<{ versions: unknown[]; check: { id: string }; status: string }>(
      `/api/v1/findings/${findingId}`,
    );
    expect(one.status).toBe(200);
    expect(one.body.check.id).toBe('sg_open_ssh');
    expect(one.body.versions).toHaveLength(1);
  });

  it('triages with the grants each step needs', async () => {
    const until = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const forbidden = await as(operator).post(`/api/v1/findings/${findingId}/suppress`, {
      reason: 'accepted risk',
      until,
    });
    expect(forbidden.status).toBe(403);
    const ack = await as(operator).post<{ status: string }>(
      `/api/v1/findings/${findingId}/acknowledge`,
      { note: 'looking at it' },
    );
    expect(ack.status).toBe(200);
    expect(ack.body.status).toBe('acknowledged');
    const sup = await as(author).post<{ status: string; suppressed_until: string }>(
      `/api/v1/findings/${findingId}/suppress`,
      {
        reason: 'bastion behind a VPN from next week',
        until,
      },
    );
    expect(sup.status).toBe(200);
    expect(sup.body.status).toBe('suppressed');
    const un = await as(author).post<{ status: string }>(
      `/api/v1/findings/${findingId}/unsuppress`,
      { reason: 'VPN is late' },
    );
    expect(un.body.status).toBe('open');
  });

  it('answers bad input with 400 and the stable error shape, and no session with 401', async () => {
    const c = as(operator);
    for (const url of [
      '/api/v1/findings?severity=huge',
      '/api/v1/findings?limit=0',
      '/api/v1/findings?facility_id=nope',
      '/api/v1/findings?colour=red',
      '/api/v1/findings?cursor=bm9wZQ',
      '/api/v1/findings/not-a-uuid',
      '/api/v1/findings/counts?domain=cost',
    ]) {
      const r = await c.get<{ code: string }>(url);
      expect({ url, status: r.status, code: r.body.code }).toEqual({
        url,
        status: 400,
        code: 'invalid_input',
      });
    }
    const past = await as(author).post<{ code: string; reason: string }>(
      `/api/v1/findings/${findingId}/suppress`,
      {
        reason: 'too late',
        until: new Date(Date.now() - 1000).toISOString(),
      },
    );
    expect(past.status).toBe(400);
    expect(past.body.reason).toBe('invalid_expiry');
    const noReason = await as(author).post(`/api/v1/findings/${findingId}/suppress`, {
      until: new Date().toISOString(),
    });
    expect(noReason.status).toBe(400);
    expect((await c.get(`/api/v1/findings/${randomUUID()}`)).status).toBe(404);
    expect((await s().client().get('/api/v1/findings')).status).toBe(401);
  });

  it('shows the configuration in force at a facility to those who may read it', async () => {
    const t = s().db;
    const stranger = await createUser(t, await createOrg(t), []);
    expect(
      (await as(stranger).get(`/api/v1/facilities/${site}/finding-configuration`)).status,
    ).toBe(404);
    expect(
      (await as(operator).get(`/api/v1/facilities/${site}/finding-configuration`)).status,
    ).toBe(403);
    const r = await as(configReader).get<{
      records: unknown[];
      effective: { enabled_checks: string[]; thresholds: Record<string, number> };
    }>(`/api/v1/facilities/${site}/finding-configuration`);
    expect(r.status).toBe(200);
    expect(r.body.records).toEqual([]);
    expect(r.body.effective.enabled_checks).toContain('sg_open_ssh');
    expect(r.body.effective.enabled_checks).not.toContain('drift_new_since_baseline');
    expect(r.body.effective.thresholds.ec2_idle_window_days).toBe(14);
  });
});
