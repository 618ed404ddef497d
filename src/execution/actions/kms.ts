// KMS: turn on automatic key rotation of a customer-managed key.
import {
  DisableKeyRotationCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
} from '@aws-sdk/client-kms';
import { isAwsError } from '../clients.js';
import { resourceGone, settingAction } from './types.js';

export const enableKeyRotation = settingAction({
  id: 'kms.enable_key_rotation',
  what: (p) => `rotation of KMS key ${p.keyId}`,
  async observe(ctx, p): Promise<{ rotationEnabled: boolean }> {
    try {
      const r = await ctx.aws
        .kms(p.region)
        .send(new GetKeyRotationStatusCommand({ KeyId: p.keyId }));
      return { rotationEnabled: r.KeyRotationEnabled === true };
    } catch (e) {
      if (isAwsError(e, 'NotFoundException')) throw resourceGone(`KMS key ${p.keyId}`);
      throw e;
    }
  },
  target: () => ({ rotationEnabled: true }),
  async write(ctx, p, d) {
    await ctx.aws
      .kms(p.region)
      .send(
        d.rotationEnabled
          ? new EnableKeyRotationCommand({ KeyId: p.keyId })
          : new DisableKeyRotationCommand({ KeyId: p.keyId }),
      );
  },
  permissions: (p, account) => {
    const resource = `arn:aws:kms:${p.region}:${account}:key/${p.keyId}`;
    return [
      { phase: 'read', action: 'kms:GetKeyRotationStatus', resource },
      { phase: 'apply', action: 'kms:EnableKeyRotation', resource },
      { phase: 'rollback', action: 'kms:DisableKeyRotation', resource },
    ];
  },
  rollbackStrategy: (p) => `aws kms disable-key-rotation --key-id ${p.keyId} --region ${p.region}`,
});
