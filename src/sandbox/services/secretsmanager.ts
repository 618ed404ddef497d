// Secrets Manager (JSON 1.1): ListSecrets and GetSecretValue (which works, so a test can show
// that Axiom never calls it).
import * as sdk from '@aws-sdk/client-secrets-manager';
import { AwsError } from '../errors.js';
import { op, type Ctx, type AnyOp, type ServiceDef } from '../framework.js';
import type { OperationSchema } from '../protocols/serde.js';
import type { Secret } from '../state.js';
import { date, page, req } from '../util.js';

const s = (x: unknown): OperationSchema => x as OperationSchema;

function secret(ctx: Ctx, id: string): Secret {
  const list = [...ctx.regionState.secrets.values()];
  const found = list.find((x) => x.name === id || x.arn === id);
  if (!found)
    throw new AwsError(
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret.",
    );
  return found;
}

const arnOf = (i: { SecretId?: string }, ctx: Ctx): string => {
  try {
    return secret(ctx, i.SecretId ?? '').arn;
  } catch {
    return `arn:aws:secretsmanager:${ctx.region}:${ctx.account.id}:secret:${i.SecretId ?? '*'}`;
  }
};

const ops: Record<string, AnyOp> = {
  ListSecrets: op<sdk.ListSecretsRequest, sdk.ListSecretsResponse>({
    schema: s(sdk.ListSecrets$),
    handler: (ctx, input) => {
      const max = input.MaxResults ?? 100;
      if (max < 1 || max > 100)
        throw new AwsError('InvalidParameterException', 'MaxResults must be between 1 and 100.');
      let list = [...ctx.regionState.secrets.values()];
      for (const f of input.Filters ?? []) {
        if (f.Key === 'name')
          list = list.filter((x) => (f.Values ?? []).some((v) => x.name.startsWith(v)));
      }
      const p = page(
        list,
        input.NextToken,
        max,
        `sm:${ctx.region}`,
        () => new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.'),
      );
      return {
        SecretList: p.items.map((x) => ({
          ARN: x.arn,
          Name: x.name,
          Description: x.description,
          CreatedDate: date(x.createdDate),
          LastChangedDate: date(x.lastChangedDate),
          Tags: x.tags.map((t) => ({ ...t })),
          SecretVersionsToStages: { [`v-${x.name}`]: ['AWSCURRENT'] },
        })),
        NextToken: p.next,
      };
    },
  }),
  DescribeSecret: op<sdk.DescribeSecretRequest, sdk.DescribeSecretResponse>({
    schema: s(sdk.DescribeSecret$),
    resource: arnOf,
    handler: (ctx, input) => {
      const x = secret(ctx, req(ctx, input, 'SecretId'));
      return {
        ARN: x.arn,
        Name: x.name,
        Description: x.description,
        CreatedDate: date(x.createdDate),
        LastChangedDate: date(x.lastChangedDate),
      };
    },
  }),
  GetSecretValue: op<sdk.GetSecretValueRequest, sdk.GetSecretValueResponse>({
    schema: s(sdk.GetSecretValue$),
    resource: arnOf,
    handler: (ctx, input) => {
      const x = secret(ctx, req(ctx, input, 'SecretId'));
      return {
        ARN: x.arn,
        Name: x.name,
        VersionId: `v-${x.name}`,
        SecretString: x.value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: date(x.lastChangedDate),
      };
    },
  }),
};

export const secretsManagerService: ServiceDef = {
  signingName: 'secretsmanager',
  name: 'secretsmanager',
  protocol: 'json',
  jsonVersion: '1.1',
  targetPrefix: 'secretsmanager',
  actionPrefix: 'secretsmanager',
  ops,
};
