// Shapes of secrets, and redaction of them from any text that might be logged or returned.

/** AWS access key ids (long-term AKIA…, temporary ASIA…, and the other documented prefixes). */
export const awsAccessKeyIdPattern =
  /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b/g;
/** A 40-character AWS secret access key (base64 alphabet), when it stands alone as a token. */
export const awsSecretKeyPattern = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/g;
/** Axiom bearer tokens: sessions (axs_), API tokens (axt_), agent sessions (axa_). */
export const axiomTokenPattern = /\bax[sta]_[A-Za-z0-9_-]{40,60}\b/g;
/** IAM role ARNs. */
export const roleArnPattern = /\barn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}/g;

export function redactSecrets(text: string): string {
  return text
    .replace(axiomTokenPattern, '[redacted-token]')
    .replace(awsAccessKeyIdPattern, '[redacted-access-key-id]')
    .replace(roleArnPattern, '[redacted-role-arn]')
    .replace(awsSecretKeyPattern, (m) =>
      /[0-9]/.test(m) && /[A-Za-z]/.test(m) ? '[redacted-secret]' : m,
    );
}

/** Does a value (any JSON) contain something shaped like an AWS access key or secret key? */
export function findAwsCredential(value: unknown, depth = 0): string | undefined {
  if (depth > 32) return undefined;
  if (typeof value === 'string') {
    awsAccessKeyIdPattern.lastIndex = 0;
    if (awsAccessKeyIdPattern.test(value)) return 'an AWS access key id';
    return undefined;
  }
  if (Array.isArray(value)) {
    for (const v of value) {
      const found = findAwsCredential(v, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (/^(aws_?)?secret_?access_?key$|^secretAccessKey$|^aws_?session_?token$/i.test(k))
        return 'an AWS secret key';
      if (typeof v === 'string' && /secret/i.test(k)) {
        awsSecretKeyPattern.lastIndex = 0;
        if (awsSecretKeyPattern.test(v)) return 'an AWS secret key';
      }
      const found = findAwsCredential(v, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
