// pino, with a redaction list: nothing that authenticates anyone or decrypts anything is ever logged.
import pino from 'pino';
import { redactSecrets } from './security/redact.js';

export type Logger = pino.Logger;

const redactPaths = [
  '*.token',
  '*.password',
  '*.secret',
  '*.secretAccessKey',
  '*.SecretAccessKey',
  '*.sessionToken',
  '*.SessionToken',
  '*.accessKeyId',
  '*.AccessKeyId',
  '*.authorization',
  '*.cookie',
  '*.roleArn',
  '*.role_arn',
  '*.externalId',
  '*.external_id',
  '*.privateKey',
  '*.wrapped_private_key',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'token',
  'password',
  'secret',
];

/**
 * The last line of defence: every serialized line is searched for strings shaped like secrets (Axiom
 * tokens, AWS keys, role ARNs) and they are masked before the line reaches its destination, whatever
 * object they were nested in.
 */
function redactingStream(dest: pino.DestinationStream): pino.DestinationStream {
  return { write: (line: string) => dest.write(redactSecrets(line)) };
}

export function createLogger(opts: {
  level: string;
  name?: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      level: opts.level,
      name: opts.name ?? 'axiom',
      redact: { paths: redactPaths, censor: '[redacted]' },
    },
    redactingStream(opts.destination ?? pino.destination(1)),
  );
}
