// Key-encryption keys (DESIGN.md invariant 13): the AWS KMS provider against the sandbox's KMS, KEK
// rotation that re-wraps data keys while readers go on, and customer-managed KMS keys for enterprise
// organizations only (the database refuses other plans).
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../../src/cloud/connections.js';
import { sealContext } from '../../src/cloud/scanner.js';
import { DataKeys } from '../../src/security/datakeys.js';
import { LocalKeyFile } from '../../src/security/kek.js';
import { KekRing, KmsKek } from '../../src/security/kms.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { useTestDatabase } from '../support/db.js';
import { createFacility, createOrg, refused } from '../support/fixtures.js';
import { useSandbox } from '../support/cloud.js';

const db = useTestDatabase();
const sandbox = useSandbox({ accounts: [{ seed: 'keys', size: 10, regions: ['us-east-1'] }] });
let local: LocalKeyFile;

// The sandbox's KMS: keys in an account, used with that account's credentials (in production the
// default credential chain of Axiom's platform identity, allowed by the key policy).
function kmsConfig(sb: Sandbox) {
  return { endpoint: sb.endpoint, credentials: sb.accounts[0]!.adminCredentials };
}
async function newKmsKey(sb: Sandbox): Promise<string> {
  const c = new KMSClient({ ...kmsConfig(sb), region: 'us-east-1' });
  const k = await c.send(new CreateKeyCommand({ Description: 'axiom kek' }));
  c.destroy();
  return k.KeyMetadata!.Arn!;
}

let dir: string | undefined;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'axiom-keys-'));
  local = LocalKeyFile.open(path.join(dir, 'kek.json'), { create: true });
});
// The local key file is a secret: it does not outlive the test.
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the KMS key provider', () => {
  it('wraps and unwraps through the sandbox KMS, bound to its context', async () => {
    const arn = await newKmsKey(sandbox());
    const kms = new KmsKek(arn, kmsConfig(sandbox()));
    const plain = Buffer.from('a data key of 32 bytes, exactly!');
    const { wrapped, kekId } = await kms.wrap(plain, 'axiom-data-key:org-1');
    expect(kekId).toBe(`kms:${arn}`);
    expect(wrapped.includes(plain)).toBe(false);
    expect(await kms.unwrap(wrapped, kekId, 'axiom-data-key:org-1')).toEqual(plain);
    await expect(kms.unwrap(wrapped, kekId, 'axiom-data-key:org-2')).rejects.toThrow(
      /could not unwrap/,
    );
    const tampered = Buffer.from(wrapped);
    tampered[tampered.length - 1]! ^= 1;
    await expect(kms.unwrap(tampered, kekId, 'axiom-data-key:org-1')).rejects.toThrow(
      /could not unwrap/,
    );
    kms.destroy();
  });
});

describe('rotating the key-encryption key', () => {
  it('re-wraps the data key under KMS while readers keep reading, without an error', async () => {
    const t = db();
    const org = await createOrg(t);
    const facility = await createFacility(t, org);
    const ring = new KekRing(local, [], kmsConfig(sandbox()));
    const keys = new DataKeys(t.api, ring);
    const settings = { platformAccountId: '111111111111' };
    const roleArn = `arn:aws:iam::123456789012:role/Rotating`;
    const conn = await createConnection(
      { api: t.api, dataKeys: keys, settings },
      org.admin.caller,
      {
        facilityId: facility,
        accountId: '123456789012',
        roleArn,
      },
    );
    const creds = await t.api.call<{ role_arn_sealed: string }>(
      'connection_credentials',
      org.admin.caller,
      conn.id,
      'test',
    );
    const before = await t.api.call<{ data_key: { id: string; kek_id: string } }>(
      'data_key_get',
      org.admin.caller,
    );
    expect(before.data_key.kek_id).toBe(local.currentKekId);

    // Readers: each read unwraps the data key afresh (a new process would), again and again.
    let reads = 0;
    const failures: unknown[] = [];
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        const fresh = new DataKeys(t.api, ring);
        try {
          expect(
            await fresh.open(
              org.admin.caller,
              org.id,
              creds.role_arn_sealed,
              sealContext(org.id, conn.id, 'scan'),
            ),
          ).toBe(roleArn);
          reads++;
        } catch (e) {
          failures.push(e);
        }
      }
    })();
    // Reads before, during and after the rotation: wait for reads, not for time (a loaded machine
    // may manage only a few in 150 ms).
    const readsPast = async (n: number): Promise<void> => {
      await expect.poll(() => reads, { timeout: 15_000, interval: 20 }).toBeGreaterThan(n);
    };
    await readsPast(2);
    ring.rotateTo(new KmsKek(await newKmsKey(sandbox()), kmsConfig(sandbox())));
    const rewrapped = await keys.rewrap(org.admin.caller, org.id);
    expect(rewrapped).toMatch(/^kms:arn:aws:kms:us-east-1:/);
    await readsPast(reads + 3);
    stop = true;
    await reader;
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(5);
    const after = await t.api.call<{ data_key: { id: string; kek_id: string } }>(
      'data_key_get',
      org.admin.caller,
    );
    expect(after.data_key.kek_id).toBe(rewrapped);
    expect(after.data_key.id).not.toBe(before.data_key.id);
    // The local key file is no longer needed for this organization: KMS alone opens its values.
    const kmsOnly = new DataKeys(t.api, new KekRing(ring.current, [], kmsConfig(sandbox())));
    expect(
      await kmsOnly.open(
        org.admin.caller,
        org.id,
        creds.role_arn_sealed,
        sealContext(org.id, conn.id, 'scan'),
      ),
    ).toBe(roleArn);
    // Nothing left to do on a second pass; a re-wrap of another key is refused by the database.
    expect(await keys.rewrap(org.admin.caller, org.id)).toBeNull();
    await refused(
      t.api.call(
        'data_key_rewrap',
        org.admin.caller,
        after.data_key.id,
        Buffer.alloc(64).toString('base64'),
        'local:0123456789abcdef',
        '0'.repeat(32),
      ),
      'conflict',
      'data_key_mismatch',
    );
  });
});

describe('customer-managed KMS keys', () => {
  it('are refused by the database below the enterprise plan', async () => {
    const t = db();
    const ring = new KekRing(local, [], kmsConfig(sandbox()));
    for (const tier of ['growth', 'starter'] as const) {
      const org = await createOrg(t, { tier });
      const keys = new DataKeys(t.api, ring);
      await refused(
        keys.setOrganizationKmsKey(org.admin.caller, org.id, await newKmsKey(sandbox())),
        'forbidden',
        'enterprise_only',
      );
      expect(
        (await t.api.call<{ kms_key_arn: string | null }>('data_key_get', org.admin.caller))
          .kms_key_arn,
      ).toBeNull();
    }
  });

  it("wrap an enterprise organization's data key, and stay in force across installation KEK rotations", async () => {
    const t = db();
    const org = await createOrg(t, { tier: 'enterprise' });
    const ring = new KekRing(local, [], kmsConfig(sandbox()));
    const keys = new DataKeys(t.api, ring);
    const sealed = await keys.seal(org.admin.caller, org.id, 'a sealed value', 'ctx');
    const own = await newKmsKey(sandbox());
    await keys.setOrganizationKmsKey(org.admin.caller, org.id, own);
    const info = await t.api.call<{ kms_key_arn: string; data_key: { kek_id: string } }>(
      'data_key_get',
      org.admin.caller,
    );
    expect(info).toMatchObject({ kms_key_arn: own, data_key: { kek_id: `kms:${own}` } });
    const fresh = new DataKeys(t.api, new KekRing(local, [], kmsConfig(sandbox())));
    expect(await fresh.open(org.admin.caller, org.id, sealed.sealed, 'ctx')).toBe('a sealed value');
    // Rotating the installation's KEK leaves the customer's key in place; the database refuses a
    // wrap by any other key for this organization.
    expect(await keys.rewrap(org.admin.caller, org.id)).toBeNull();
    const { wrapped } = await local.wrap(Buffer.alloc(32), 'x');
    await refused(
      t.api.call(
        'data_key_rewrap',
        org.admin.caller,
        (await t.api.call<{ data_key: { id: string } }>('data_key_get', org.admin.caller)).data_key
          .id,
        wrapped.toString('base64'),
        local.currentKekId,
        '0'.repeat(32),
      ),
      'conflict',
    );
  });
});
