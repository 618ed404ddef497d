// Installation secrets: generated once, kept in <data dir>/secrets.json (mode 0600), never logged.
// The database holds only hashes of the bootstrap and worker secrets.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const schema = z.object({
  bootstrapSecret: z.string().min(32),
  workerSecret: z.string().min(32),
  superuserPassword: z.string().min(16),
  ownerPassword: z.string().min(16),
  userPassword: z.string().min(16),
  workerRolePassword: z.string().min(16),
  reportingPassword: z.string().min(16),
});

export type InstallationSecrets = z.infer<typeof schema>;

const random = (prefix = ''): string => prefix + randomBytes(32).toString('base64url');

export function secretsPath(dataDir: string): string {
  return path.join(dataDir, 'secrets.json');
}

/** Read the installation secrets, creating any that are missing. */
export function loadOrCreateSecrets(dataDir: string): InstallationSecrets {
  const file = secretsPath(dataDir);
  let existing: Partial<InstallationSecrets> = {};
  if (fs.existsSync(file)) {
    existing = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<InstallationSecrets>;
  }
  const secrets = schema.parse({
    bootstrapSecret: existing.bootstrapSecret ?? random('axb_'),
    workerSecret: existing.workerSecret ?? random('axw_'),
    superuserPassword: existing.superuserPassword ?? random(),
    ownerPassword: existing.ownerPassword ?? random(),
    userPassword: existing.userPassword ?? random(),
    workerRolePassword: existing.workerRolePassword ?? random(),
    reportingPassword: existing.reportingPassword ?? random(),
  });
  if (Object.keys(schema.shape).some((k) => !(k in existing))) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  }
  return secrets;
}
