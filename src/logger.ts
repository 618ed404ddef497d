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
      // A last line of defence: strings that look like secrets are masked wherever they appear.
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)) as Parameters<
              typeof method
            >,
          );
        },
      },
      formatters: {
        log(obj) {
          return JSON.parse(redactSecrets(JSON.stringify(obj))) as Record<string, unknown>;
        },
      },
    },
    opts.destination,
  );
}
