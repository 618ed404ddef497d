// Is a bucket public? The layers in the order S3 applies them — the account's Block Public Access,
// the bucket's Block Public Access, the ACL grants, the bucket policy's statements (Principal and
// Condition) — and public only when every layer lets it through.
import type { BucketData, PublicAccessBlock } from '../cloud/inventory.js';
import {
  ALL_USERS_URI,
  AUTHENTICATED_USERS_URI,
  awsPrincipals,
  isPublicStatement,
  asList,
} from './policy.js';

export type Neutraliser =
  | 'account_ignore_public_acls'
  | 'bucket_ignore_public_acls'
  | 'bucket_owner_enforced'
  | 'account_restrict_public_buckets'
  | 'bucket_restrict_public_buckets';

export interface S3PublicEvaluation {
  /** The ACL grants to everyone (AllUsers) or any AWS account holder (AuthenticatedUsers). */
  publicGrants: Array<{ grantee: string; permission: string }>;
  /** Why public grants do not apply (empty: they do, or there are none). */
  aclNeutralisedBy: Neutraliser[];
  /** Allow statements open to everyone and not pinned by a Condition. */
  publicStatements: Array<{ sid: string | null; principal: string[]; actions: string[] }>;
  policyNeutralisedBy: Neutraliser[];
  aclPublic: boolean;
  policyPublic: boolean;
  public: boolean;
}

export function evaluateS3Public(
  bucket: Pick<BucketData, 'acl' | 'objectOwnership' | 'policy' | 'publicAccessBlock'>,
  accountBlock: PublicAccessBlock | null,
): S3PublicEvaluation {
  const b = bucket.publicAccessBlock;
  const publicGrants = bucket.acl
    .filter(
      (g) =>
        g.grantee.type === 'Group' &&
        (g.grantee.uri === ALL_USERS_URI || g.grantee.uri === AUTHENTICATED_USERS_URI),
    )
    .map((g) => ({
      grantee: g.grantee.uri === ALL_USERS_URI ? 'AllUsers' : 'AuthenticatedUsers',
      permission: g.permission,
    }));
  const aclNeutralisedBy: Neutraliser[] = [];
  if (accountBlock?.ignorePublicAcls) aclNeutralisedBy.push('account_ignore_public_acls');
  if (b?.ignorePublicAcls) aclNeutralisedBy.push('bucket_ignore_public_acls');
  if (bucket.objectOwnership === 'BucketOwnerEnforced')
    aclNeutralisedBy.push('bucket_owner_enforced');

  const publicStatements = (bucket.policy?.Statement ?? []).filter(isPublicStatement).map((s) => ({
    sid: s.Sid ?? null,
    principal: s.Principal === undefined ? ['NotPrincipal'] : awsPrincipals(s.Principal),
    actions: asList(s.Action ?? s.NotAction),
  }));
  const policyNeutralisedBy: Neutraliser[] = [];
  if (accountBlock?.restrictPublicBuckets)
    policyNeutralisedBy.push('account_restrict_public_buckets');
  if (b?.restrictPublicBuckets) policyNeutralisedBy.push('bucket_restrict_public_buckets');

  const aclPublic = publicGrants.length > 0 && aclNeutralisedBy.length === 0;
  const policyPublic = publicStatements.length > 0 && policyNeutralisedBy.length === 0;
  return {
    publicGrants,
    aclNeutralisedBy,
    publicStatements,
    policyNeutralisedBy,
    aclPublic,
    policyPublic,
    public: aclPublic || policyPublic,
  };
}
