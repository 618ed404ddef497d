// STS (awsQuery): AssumeRole with trust-policy, External ID and duration enforcement, and
// GetCallerIdentity.
import * as sdk from '@aws-sdk/client-sts';
import { AwsError } from '../errors.js';
import { op, type ServiceDef } from '../framework.js';
import { accessKeyId, secretAccessKey, sessionToken } from '../ids.js';
import { evaluateResourcePolicy, parsePolicy, PolicyParseError } from '../policy.js';
import type { OperationSchema } from '../protocols/serde.js';
import { req } from '../util.js';

const s = (x: unknown): OperationSchema => x as OperationSchema;
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

export const stsService: ServiceDef = {
  signingName: 'sts',
  name: 'sts',
  protocol: 'query',
  actionPrefix: 'sts',
  xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
  ops: {
    GetCallerIdentity: op<sdk.GetCallerIdentityRequest, sdk.GetCallerIdentityResponse>({
      schema: s(sdk.GetCallerIdentity$),
      noAuth: true,
      handler: (ctx) => ({
        UserId: ctx.caller.userId,
        Account: ctx.caller.accountId,
        Arn: ctx.caller.arn,
      }),
    }),
    AssumeRole: op<sdk.AssumeRoleRequest, sdk.AssumeRoleResponse>({
      schema: s(sdk.AssumeRole$),
      selfAuth: true,
      handler: (ctx, input) => {
        const roleArn = req<string>(ctx, input, 'RoleArn');
        const sessionName = req<string>(ctx, input, 'RoleSessionName');
        if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
          throw new AwsError(
            'ValidationError',
            `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
          );
        if (roleArn.length < 20)
          throw new AwsError(
            'ValidationError',
            `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20`,
          );
        if (input.ExternalId !== undefined && !/^[\w+=,.@:/-]{2,1224}$/.test(input.ExternalId))
          throw new AwsError(
            'ValidationError',
            `1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*`,
          );
        const duration = input.DurationSeconds ?? 3600;
        if (duration < 900)
          throw new AwsError(
            'ValidationError',
            `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
          );
        if (duration > 43200)
          throw new AwsError(
            'ValidationError',
            `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200`,
          );
        let packedSize: number | undefined;
        if (input.Policy !== undefined) {
          if (input.Policy.length > 2048)
            throw new AwsError(
              'PackedPolicyTooLarge',
              'Packed size of the policy exceeds 100% of the allowed value.',
            );
          try {
            parsePolicy(input.Policy);
          } catch (e) {
            throw new AwsError(
              'MalformedPolicyDocument',
              e instanceof PolicyParseError
                ? e.message
                : 'The policy is not in the valid JSON format.',
            );
          }
          packedSize = Math.min(99, Math.ceil((input.Policy.length / 2048) * 100));
        }
        const denied = (): AwsError =>
          new AwsError(
            'AccessDenied',
            `User: ${ctx.caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
            403,
          );
        // The caller's own permissions must allow sts:AssumeRole on the role.
        if (!ctx.allowed('sts:AssumeRole', roleArn)) throw denied();
        const m = ROLE_ARN.exec(roleArn);
        if (!m) throw denied();
        const target = ctx.engine.accounts.get(m[1]!);
        const role = target?.iam.roles.get(m[2]!);
        // A missing role answers exactly like a refused one (AWS does not reveal which).
        if (!target || !role || role.arn !== roleArn) throw denied();
        const trust = ctx.engine.parsePolicyCached(role.trustPolicy);
        if (!trust) throw denied();
        const context = ctx.engine.requestContext(ctx.caller, ctx.region, {
          'sts:ExternalId': input.ExternalId,
          'sts:RoleSessionName': sessionName,
          'sts:SourceIdentity': input.SourceIdentity,
        });
        const decision = evaluateResourcePolicy(
          trust,
          { accountId: ctx.caller.accountId, principalArn: ctx.caller.principalArn },
          { action: 'sts:AssumeRole', resource: roleArn, context },
        );
        if (decision !== 'allow') throw denied();
        const chained = !!ctx.caller.session;
        if (chained && duration > 3600)
          throw new AwsError(
            'ValidationError',
            'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
          );
        if (duration > role.maxSessionDuration)
          throw new AwsError(
            'ValidationError',
            'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
          );
        const expiresAt = ctx.now + duration * 1000;
        if (ctx.engine.credentials.size > 50_000) ctx.engine.pruneExpiredSessions();
        const keyId = accessKeyId('temp');
        const secret = secretAccessKey();
        const token = sessionToken();
        ctx.engine.credentials.set(keyId, {
          accessKeyId: keyId,
          secret,
          accountId: target.id,
          session: {
            roleName: role.name,
            roleArn: role.arn,
            roleId: role.id,
            sessionName,
            sessionPolicy: input.Policy,
            expiresAt,
            token,
            chained,
          },
        });
        return {
          Credentials: {
            AccessKeyId: keyId,
            SecretAccessKey: secret,
            SessionToken: token,
            Expiration: new Date(expiresAt),
          },
          AssumedRoleUser: {
            AssumedRoleId: `${role.id}:${sessionName}`,
            Arn: `arn:aws:sts::${target.id}:assumed-role/${role.name}/${sessionName}`,
          },
          PackedPolicySize: packedSize,
          SourceIdentity: input.SourceIdentity,
        };
      },
    }),
  },
};
