// Properties of the S3 public evaluation over generated buckets: a full block (account or bucket) never
// leaves a bucket public; pinning every Allow statement never makes one public; removing a block never
// makes a public bucket private; the verdict is exactly "ACL public or policy public".
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BucketData, PolicyStatement, PublicAccessBlock } from '../../src/cloud/inventory.js';
import { evaluateS3Public } from '../../src/findings/s3.js';

const FULL: PublicAccessBlock = {
  blockPublicAcls: true,
  ignorePublicAcls: true,
  blockPublicPolicy: true,
  restrictPublicBuckets: true,
};

const block = fc.option(
  fc.record({
    blockPublicAcls: fc.boolean(),
    ignorePublicAcls: fc.boolean(),
    blockPublicPolicy: fc.boolean(),
    restrictPublicBuckets: fc.boolean(),
  }),
  { nil: null },
);

const grantee = fc.oneof(
  fc.constant({ type: 'Group' as const, uri: 'http://acs.amazonaws.com/groups/global/AllUsers' }),
  fc.constant({
    type: 'Group' as const,
    uri: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
  }),
  fc.constant({ type: 'Group' as const, uri: 'http://acs.amazonaws.com/groups/s3/LogDelivery' }),
  fc.constant({ type: 'CanonicalUser' as const, id: 'owner' }),
);
const acl = fc.array(
  fc.record({ grantee, permission: fc.constantFrom('READ', 'WRITE', 'FULL_CONTROL', 'READ_ACP') }),
  { maxLength: 4 },
);

const principal: fc.Arbitrary<PolicyStatement['Principal']> = fc.constantFrom<
  PolicyStatement['Principal']
>(
  '*',
  { AWS: '*' },
  { AWS: ['arn:aws:iam::111122223333:root', '*'] },
  { AWS: 'arn:aws:iam::111122223333:root' },
  { Service: 'cloudfront.amazonaws.com' },
);
const condition = fc.option(
  fc.constantFrom<NonNullable<PolicyStatement['Condition']>>(
    { StringEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } },
    { StringEquals: { 'aws:PrincipalOrgID': 'o-abc123' } },
    { ArnLike: { 'aws:SourceArn': 'arn:aws:cloudfront::*' } },
    { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } },
    { Bool: { 'aws:SecureTransport': 'true' } },
    { StringEqualsIfExists: { 'aws:SourceAccount': '111122223333' } },
  ),
  { nil: undefined },
);
const statement = fc.record({
  Effect: fc.constantFrom('Allow' as const, 'Deny' as const),
  Principal: principal,
  Action: fc.constantFrom('s3:GetObject', 's3:*', 's3:PutObject'),
  Condition: condition,
});
const policy = fc.option(
  fc.array(statement, { minLength: 1, maxLength: 4 }).map((Statement) => ({
    Version: '2012-10-17',
    Statement: Statement.map((s) => {
      const out: PolicyStatement = { Effect: s.Effect, Principal: s.Principal, Action: s.Action };
      if (s.Condition) out.Condition = s.Condition;
      return out;
    }),
  })),
  { nil: null },
);
const bucketArb = fc.record({
  acl,
  policy,
  publicAccessBlock: block,
  objectOwnership: fc.constantFrom(
    'BucketOwnerEnforced',
    'BucketOwnerPreferred',
    'ObjectWriter',
    null,
  ),
}) as fc.Arbitrary<Pick<BucketData, 'acl' | 'policy' | 'publicAccessBlock' | 'objectOwnership'>>;

describe('S3 public evaluation properties', () => {
  it('a full account block or a full bucket block never leaves a bucket public', () => {
    fc.assert(
      fc.property(bucketArb, block, (bucket, account) => {
        expect(evaluateS3Public(bucket, FULL).public).toBe(false);
        expect(evaluateS3Public({ ...bucket, publicAccessBlock: FULL }, account).public).toBe(
          false,
        );
      }),
      { numRuns: 500 },
    );
  });

  it('pinning every Allow statement to an organization never makes a bucket public through its policy', () => {
    fc.assert(
      fc.property(bucketArb, block, (bucket, account) => {
        if (!bucket.policy) return;
        const pinned = {
          ...bucket,
          policy: {
            ...bucket.policy,
            Statement: bucket.policy.Statement.map((s) => ({
              ...s,
              Condition: {
                ...(s.Condition ?? {}),
                StringEquals: { 'aws:PrincipalOrgID': 'o-pinned1' },
              },
            })),
          },
        };
        expect(evaluateS3Public(pinned, account).policyPublic).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('removing a block never turns a public bucket private, and the verdict is ACL-public or policy-public', () => {
    fc.assert(
      fc.property(bucketArb, block, (bucket, account) => {
        const e = evaluateS3Public(bucket, account);
        expect(e.public).toBe(e.aclPublic || e.policyPublic);
        if (e.public) {
          expect(evaluateS3Public({ ...bucket, publicAccessBlock: null }, null).public).toBe(true);
        }
        if (bucket.objectOwnership === 'BucketOwnerEnforced') expect(e.aclPublic).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
