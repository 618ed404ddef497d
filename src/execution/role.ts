// Assuming the opt-in execution role of an action class for one approved plan: the connection's
// External ID, a session named after the execution (CloudTrail attribution), at most one hour,
// and the plan's session policy, so the credentials can touch only the plan's resources. The
// credentials live in the caller's memory only.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { AppError } from '../errors.js';
import { isAwsError, GLOBAL_REGION, type ExecutionCredentials } from './clients.js';
import { SESSION_POLICY_MAX_CHARS } from './permissions.js';

export interface AssumeExecutionRoleInput {
  /** Axiom's platform identity (the default credential chain in production). */
  platformCredentials?: ExecutionCredentials;
  /** An AWS-compatible endpoint (the sandbox); default AWS. */
  endpoint?: string;
  /** The connection's execution role for the plan's action class (decrypted, in memory only). */
  roleArn: string;
  externalId: string;
  /** The execution id: the session is named axiom-exec-<id> in the customer's CloudTrail. */
  executionId: string;
  /** sessionPolicyFor(plan). */
  sessionPolicy: string;
  /** 900..3600 seconds; default 3600. */
  durationSeconds?: number;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

export async function assumeExecutionRole(
  input: AssumeExecutionRoleInput,
): Promise<AwsCredentialIdentity> {
  if (!ROLE_ARN.test(input.roleArn))
    throw new AppError('invalid_input', 'the execution role is not an IAM role ARN', {
      reason: 'invalid_role_arn',
    });
  if (!/^[\w+=,.@:/-]{2,1224}$/.test(input.externalId))
    throw new AppError('invalid_input', 'the External ID has characters AWS does not accept', {
      reason: 'invalid_external_id',
    });
  if (input.sessionPolicy.length > SESSION_POLICY_MAX_CHARS)
    throw new AppError('rule_violation', 'the session policy is over 2048 characters', {
      reason: 'session_policy_too_large',
    });
  const duration = input.durationSeconds ?? 3600;
  if (!Number.isInteger(duration) || duration < 900 || duration > 3600)
    throw new AppError('invalid_input', 'the session lasts 900 to 3600 seconds', {
      reason: 'invalid_duration',
    });
  const sessionName = `axiom-exec-${input.executionId}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  const sts = new STSClient({
    region: GLOBAL_REGION,
    ...(input.platformCredentials ? { credentials: input.platformCredentials } : {}),
    ...(input.endpoint ? { endpoint: input.endpoint } : {}),
  });
  try {
    const r = await sts.send(
      new AssumeRoleCommand({
        RoleArn: input.roleArn,
        RoleSessionName: sessionName,
        ExternalId: input.externalId,
        DurationSeconds: duration,
        Policy: input.sessionPolicy,
      }),
    );
    const c = r.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
      throw new AppError('unavailable', 'AWS returned no credentials for the execution role', {
        reason: 'aws_bad_response',
      });
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
  } catch (e) {
    if (e instanceof AppError) throw e;
    // AWS answers the same AccessDenied for a missing role, a wrong External ID and a trust
    // policy that does not name Axiom: say which ones it can be.
    if (isAwsError(e, 'AccessDenied'))
      throw new AppError(
        'forbidden',
        'the execution role could not be assumed: it was deleted, its trust policy does not name Axiom, or the External ID does not match',
        { reason: 'execution_role_unavailable', cause: e },
      );
    if (isAwsError(e, 'PackedPolicyTooLarge', 'MalformedPolicyDocument'))
      throw new AppError('rule_violation', 'AWS refused the session policy', {
        reason: 'session_policy_refused',
        cause: e,
      });
    throw e;
  } finally {
    sts.destroy();
  }
}
