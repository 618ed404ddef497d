// IAM: deactivate an access key (found by fingerprint, never stored by id) and tighten the
// account password policy.
import {
  DeleteAccountPasswordPolicyCommand,
  GetAccountPasswordPolicyCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
  UpdateAccountPasswordPolicyCommand,
} from '@aws-sdk/client-iam';
import { fingerprintAccessKeyId } from '../../cloud/inventory.js';
import { isAwsError } from '../clients.js';
import type { ParamsOf, PasswordPolicy } from '../params.js';
import { resourceGone, settingAction, type ActionContext } from './types.js';

// ---------- access keys ----------

type OnKey = ParamsOf<'iam.deactivate_access_key'>;

/** The key's id lives only in this call's memory: Axiom stores access keys by fingerprint. */
async function findKey(ctx: ActionContext, p: OnKey) {
  const r = await ctx.aws
    .iam()
    .send(new ListAccessKeysCommand({ UserName: p.userName }))
    .catch((e: unknown) => {
      if (isAwsError(e, 'NoSuchEntity', 'NoSuchEntityException'))
        throw resourceGone(`IAM user ${p.userName}`);
      throw e;
    });
  const k = (r.AccessKeyMetadata ?? []).find(
    (x) => x.AccessKeyId && fingerprintAccessKeyId(x.AccessKeyId) === p.fingerprint,
  );
  if (!k?.AccessKeyId) throw resourceGone(`access key ${p.fingerprint} of ${p.userName}`);
  return {
    id: k.AccessKeyId,
    status: k.Status === 'Active' ? ('Active' as const) : ('Inactive' as const),
    createDate: k.CreateDate,
  };
}

export const deactivateAccessKey = settingAction({
  id: 'iam.deactivate_access_key',
  what: (p) => `access key ${p.fingerprint} of ${p.userName}`,
  observe: async (ctx, p): Promise<{ status: 'Active' | 'Inactive' }> => ({
    status: (await findKey(ctx, p)).status,
  }),
  capture: async (ctx, p) => ({
    createDate: (await findKey(ctx, p)).createDate?.toISOString() ?? null,
  }),
  target: (): { status: 'Active' | 'Inactive' } => ({ status: 'Inactive' }),
  async write(ctx, p, d) {
    const key = await findKey(ctx, p);
    await ctx.aws
      .iam()
      .send(
        new UpdateAccessKeyCommand({ UserName: p.userName, AccessKeyId: key.id, Status: d.status }),
      );
  },
  permissions: (p, account) => {
    const user = `arn:aws:iam::${account}:user/${p.userName}`;
    return [
      { phase: 'read', action: 'iam:ListAccessKeys', resource: user },
      { phase: 'apply', action: 'iam:UpdateAccessKey', resource: user },
      { phase: 'rollback', action: 'iam:UpdateAccessKey', resource: user },
    ];
  },
  rollbackStrategy: (p) =>
    `aws iam update-access-key --user-name ${p.userName} --access-key-id <the key with fingerprint ${p.fingerprint}> --status Active`,
});

// ---------- account password policy ----------

/** The password policy as the inventory records it (PasswordPolicyData). */
export interface InventoryPasswordPolicy {
  minimumPasswordLength: number;
  requireSymbols: boolean;
  requireNumbers: boolean;
  requireUppercaseCharacters: boolean;
  requireLowercaseCharacters: boolean;
  passwordReusePrevention: number | null;
  maxPasswordAge: number | null;
}
export const inventoryPolicy = (p: PasswordPolicy): InventoryPasswordPolicy => ({
  minimumPasswordLength: p.minimumPasswordLength,
  requireSymbols: p.requireSymbols,
  requireNumbers: p.requireNumbers,
  requireUppercaseCharacters: p.requireUppercaseCharacters,
  requireLowercaseCharacters: p.requireLowercaseCharacters,
  passwordReusePrevention: p.passwordReusePrevention,
  maxPasswordAge: p.maxPasswordAge,
});

async function readPolicy(ctx: ActionContext): Promise<PasswordPolicy | null> {
  try {
    const r = await ctx.aws.iam().send(new GetAccountPasswordPolicyCommand({}));
    const x = r.PasswordPolicy;
    if (!x) return null;
    return {
      minimumPasswordLength: x.MinimumPasswordLength ?? 8,
      requireSymbols: x.RequireSymbols ?? false,
      requireNumbers: x.RequireNumbers ?? false,
      requireUppercaseCharacters: x.RequireUppercaseCharacters ?? false,
      requireLowercaseCharacters: x.RequireLowercaseCharacters ?? false,
      allowUsersToChangePassword: x.AllowUsersToChangePassword ?? false,
      passwordReusePrevention: x.PasswordReusePrevention ?? null,
      maxPasswordAge: x.MaxPasswordAge ?? null,
      hardExpiry: x.HardExpiry ?? null,
    };
  } catch (e) {
    if (isAwsError(e, 'NoSuchEntity', 'NoSuchEntityException')) return null;
    throw e;
  }
}

export const updatePasswordPolicy = settingAction({
  id: 'iam.update_password_policy',
  what: () => 'the account password policy',
  observe: async (ctx): Promise<{ policy: InventoryPasswordPolicy | null }> => {
    const full = await readPolicy(ctx);
    return { policy: full ? inventoryPolicy(full) : null };
  },
  // The exact previous policy (fields the inventory does not keep included), or "absent".
  capture: async (ctx) => ({ policy: await readPolicy(ctx) }),
  target: (_pre, p) => ({ policy: inventoryPolicy(p.policy) }),
  async write(ctx, p, desired, phase, pre) {
    // Unspecified fields revert to AWS defaults on update: keep the account's HardExpiry unless
    // the target sets it.
    const full =
      phase === 'apply'
        ? {
            ...p.policy,
            hardExpiry: p.policy.hardExpiry ?? pre.capture?.policy?.hardExpiry ?? null,
          }
        : pre.capture?.policy;
    if (!desired.policy || !full) {
      try {
        await ctx.aws.iam().send(new DeleteAccountPasswordPolicyCommand({}));
      } catch (e) {
        if (!isAwsError(e, 'NoSuchEntity', 'NoSuchEntityException')) throw e;
      }
      return;
    }
    await ctx.aws.iam().send(
      new UpdateAccountPasswordPolicyCommand({
        MinimumPasswordLength: full.minimumPasswordLength,
        RequireSymbols: full.requireSymbols,
        RequireNumbers: full.requireNumbers,
        RequireUppercaseCharacters: full.requireUppercaseCharacters,
        RequireLowercaseCharacters: full.requireLowercaseCharacters,
        AllowUsersToChangePassword: full.allowUsersToChangePassword,
        ...(full.passwordReusePrevention !== null
          ? { PasswordReusePrevention: full.passwordReusePrevention }
          : {}),
        ...(full.maxPasswordAge !== null ? { MaxPasswordAge: full.maxPasswordAge } : {}),
        ...(full.hardExpiry !== null ? { HardExpiry: full.hardExpiry } : {}),
      }),
    );
  },
  permissions: () => [
    { phase: 'read', action: 'iam:GetAccountPasswordPolicy', resource: '*' },
    { phase: 'apply', action: 'iam:UpdateAccountPasswordPolicy', resource: '*' },
    { phase: 'rollback', action: 'iam:UpdateAccountPasswordPolicy', resource: '*' },
    { phase: 'rollback', action: 'iam:DeleteAccountPasswordPolicy', resource: '*' },
  ],
  rollbackStrategy: (_p, pre) =>
    pre.capture?.policy
      ? `aws iam update-account-password-policy with the previous values (${JSON.stringify(pre.capture.policy)})`
      : 'aws iam delete-account-password-policy (there was none)',
});
