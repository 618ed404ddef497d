// The control API: what a test or the demo uses to drive the sandbox — add generated accounts,
// read the answer key, play the customer (create or delete the Axiom scan role), inject faults,
// move the clock, dump and diff state. Also served over HTTP under /_sandbox/ on the same port.
import type http from 'node:http';
import { KNOWN_REGIONS, type AwsCredentials, type Engine } from './engine.js';
import type { FaultEngine, FaultRule } from './faults.js';
import {
  generateAccount,
  type AnswerKeyEntry,
  type GenerateOptions,
  type TrapEntry,
} from './generator.js';
import { diffStates, dumpAccount, type StateDiff, type StateDump } from './dump.js';
import { accessKeyId, principalId, secretAccessKey } from './ids.js';
import { parsePolicy } from './policy.js';
import type { CallRecord } from './server.js';
import type { IamRole } from './state.js';

export interface AccountInfo {
  accountId: string;
  name: string;
  regions: string[];
  adminCredentials: AwsCredentials;
}

export interface ScanRoleOptions {
  /** The External ID the trust policy requires (sts:ExternalId StringEquals). */
  externalId: string;
  /** Principal trusted: an account id, an account root ARN or a role/user ARN; default the platform account's root. */
  trustPrincipal?: string;
  /** default 'AxiomScanRole' */
  roleName?: string;
  /** Managed policies to attach; default SecurityAudit and ViewOnlyAccess. */
  managedPolicyArns?: string[];
  /** Inline permission policy (JSON text or object); default an explicit Deny on content reads. */
  inlinePolicy?: string | object;
  maxSessionDuration?: number;
}

/** Explicit Deny on reading data contents, attached by default to the scan role. */
export const DENY_CONTENT_READS = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'DenyContentReads',
      Effect: 'Deny',
      Action: [
        's3:GetObject',
        's3:GetObjectVersion',
        'secretsmanager:GetSecretValue',
        'kms:Decrypt',
        'cloudtrail:LookupEvents',
      ],
      Resource: '*',
    },
  ],
};

export class Control {
  endpoint = '';
  private readonly keys = new Map<
    string,
    { answerKey: AnswerKeyEntry[]; traps: TrapEntry[]; admin: AwsCredentials }
  >();
  private platformAccountId: string;

  constructor(
    private readonly engine: Engine,
    private readonly faultEngine: FaultEngine,
    private readonly callLog: CallRecord[],
    platformAccountId: string,
  ) {
    this.platformAccountId = platformAccountId;
  }

  /** The sandbox clock (credential expiry, snapshot completion, metric windows, resource ages). */
  get clock(): { now(): number; advance(ms: number): void; set(epochMs: number): void } {
    return this.engine.clock;
  }

  advanceTime(ms: number): void {
    this.engine.clock.advance(ms);
  }

  now(): number {
    return this.engine.now();
  }

  /** Create Axiom's own account and its base user; returns its credentials. */
  createPlatformAccount(): { accountId: string; userArn: string; credentials: AwsCredentials } {
    const account = this.engine.createAccount(
      this.platformAccountId,
      'axiom-platform',
      `platform/${this.platformAccountId}`,
    );
    account.enabledRegions = [...KNOWN_REGIONS];
    const { user, credentials } = this.engine.addUser(account, 'axiom-platform', {
      createDate: this.engine.now(),
      seed: String(Math.random()),
    });
    user.inline.AssumeCustomerRoles = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:GetCallerIdentity'], Resource: '*' },
      ],
    });
    return { accountId: account.id, userArn: user.arn, credentials };
  }

  /** Generate a customer account and install it (its users' keys become usable credentials). */
  addAccount(opts: GenerateOptions): AccountInfo {
    const gen = generateAccount({
      ...opts,
      now: opts.now ?? Math.floor(this.engine.now() / 86_400_000) * 86_400_000,
    });
    const { account } = gen;
    if (this.engine.accounts.has(account.id))
      throw new Error(`account ${account.id} already exists`);
    for (const name of account.s3.buckets.keys())
      if (this.engine.bucketOwners.has(name))
        throw new Error(`bucket name ${name} is already taken`);
    this.engine.accounts.set(account.id, account);
    for (const name of account.s3.buckets.keys()) this.engine.bucketOwners.set(name, account.id);
    for (const k of gen.userKeys)
      this.engine.credentials.set(k.accessKeyId, {
        accessKeyId: k.accessKeyId,
        secret: k.secretAccessKey,
        accountId: account.id,
        userName: k.userName,
      });
    const admin = {
      accessKeyId: gen.admin.accessKeyId,
      secretAccessKey: gen.admin.secretAccessKey,
    };
    this.keys.set(account.id, { answerKey: gen.answerKey, traps: gen.traps, admin });
    return {
      accountId: account.id,
      name: account.name,
      regions: [...account.enabledRegions],
      adminCredentials: admin,
    };
  }

  accounts(): AccountInfo[] {
    return [...this.keys.entries()].map(([id, k]) => {
      const a = this.engine.accounts.get(id)!;
      return {
        accountId: id,
        name: a.name,
        regions: [...a.enabledRegions],
        adminCredentials: k.admin,
      };
    });
  }

  private entry(accountId: string) {
    const k = this.keys.get(accountId);
    if (!k) throw new Error(`unknown customer account ${accountId}`);
    return k;
  }

  answerKey(accountId: string): AnswerKeyEntry[] {
    return this.entry(accountId).answerKey.map((e) => ({ ...e }));
  }

  traps(accountId: string): TrapEntry[] {
    return this.entry(accountId).traps.map((e) => ({ ...e }));
  }

  adminCredentials(accountId: string): AwsCredentials {
    return { ...this.entry(accountId).admin };
  }

  /** What a customer does to onboard Axiom: a role trusting the platform, with an External ID. */
  createScanRole(
    accountId: string,
    opts: ScanRoleOptions,
  ): { roleArn: string; roleName: string; externalId: string } {
    const account = this.engine.accounts.get(accountId);
    if (!account) throw new Error(`unknown account ${accountId}`);
    const roleName = opts.roleName ?? 'AxiomScanRole';
    const principal = opts.trustPrincipal ?? `arn:aws:iam::${this.platformAccountId}:root`;
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: {
            AWS: /^\d{12}$/.test(principal) ? `arn:aws:iam::${principal}:root` : principal,
          },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': opts.externalId } },
        },
      ],
    };
    const inline = opts.inlinePolicy ?? DENY_CONTENT_READS;
    const inlineText = typeof inline === 'string' ? inline : JSON.stringify(inline);
    parsePolicy(inlineText);
    const role: IamRole = {
      name: roleName,
      id: principalId('AROA'),
      arn: `arn:aws:iam::${account.id}:role/${roleName}`,
      path: '/',
      createDate: this.engine.now(),
      trustPolicy: JSON.stringify(trust),
      description: 'Axiom read-only scan role',
      maxSessionDuration: opts.maxSessionDuration ?? 3600,
      inline: { AxiomScanInline: inlineText },
      attached: opts.managedPolicyArns ?? [
        'arn:aws:iam::aws:policy/SecurityAudit',
        'arn:aws:iam::aws:policy/job-function/ViewOnlyAccess',
      ],
      tags: [],
    };
    account.iam.roles.set(roleName, role);
    return { roleArn: role.arn, roleName, externalId: opts.externalId };
  }

  /** Delete a role outright (policies included), as a customer revoking access would. */
  deleteRole(accountId: string, roleName: string): boolean {
    return this.engine.accounts.get(accountId)?.iam.roles.delete(roleName) ?? false;
  }

  /** Expire live STS sessions now (optionally only one account's, or one role's). */
  expireSessions(accountId?: string, roleName?: string): number {
    let n = 0;
    for (const c of this.engine.credentials.values()) {
      if (!c.session) continue;
      if (accountId && c.accountId !== accountId) continue;
      if (roleName && c.session.roleName !== roleName) continue;
      c.session.expiresAt = Math.min(c.session.expiresAt, this.engine.now());
      n++;
    }
    return n;
  }

  /** Extra long-term credentials for an existing IAM user of an account (for tests). */
  createUserKey(accountId: string, userName: string): AwsCredentials {
    const account = this.engine.accounts.get(accountId);
    const user = account?.iam.users.get(userName);
    if (!account || !user) throw new Error(`unknown user ${userName} in ${accountId}`);
    const id = accessKeyId('long');
    const secret = secretAccessKey();
    user.accessKeys.push({ id, secret, status: 'Active', createDate: this.engine.now() });
    this.engine.credentials.set(id, { accessKeyId: id, secret, accountId, userName });
    return { accessKeyId: id, secretAccessKey: secret };
  }

  injectFault(rule: FaultRule): string {
    return this.faultEngine.add(rule);
  }

  removeFault(id: string): boolean {
    return this.faultEngine.remove(id);
  }

  clearFaults(): void {
    this.faultEngine.clear();
  }

  faults(): ReturnType<FaultEngine['list']> {
    return this.faultEngine.list();
  }

  dumpState(accountId: string): StateDump {
    const account = this.engine.accounts.get(accountId);
    if (!account) throw new Error(`unknown account ${accountId}`);
    return dumpAccount(account, this.engine.now());
  }

  diffStates(a: StateDump, b: StateDump, opts?: { ignore?: string[] }): StateDiff[] {
    return diffStates(a, b, opts);
  }

  /** The log of API calls the sandbox answered (newest last), optionally filtered. */
  calls(
    filter: Partial<Pick<CallRecord, 'service' | 'operation' | 'accountId'>> = {},
  ): CallRecord[] {
    return this.callLog.filter(
      (c) =>
        (filter.service === undefined || c.service === filter.service) &&
        (filter.operation === undefined || c.operation === filter.operation) &&
        (filter.accountId === undefined || c.accountId === filter.accountId),
    );
  }

  clearCalls(): void {
    this.callLog.splice(0, this.callLog.length);
  }
}

// ---------- HTTP ----------
function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function handleControlHttp(
  control: Control,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  url: URL,
): Promise<void> {
  const parts = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  let input: Record<string, unknown> = {};
  if (body.length) {
    try {
      input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      json(res, 400, { error: 'body must be JSON' });
      return;
    }
  }
  try {
    const [a, b, c, d] = parts;
    if (method === 'GET' && a === 'info') {
      json(res, 200, {
        endpoint: control.endpoint,
        now: new Date(control.now()).toISOString(),
        accounts: control
          .accounts()
          .map((x) => ({ accountId: x.accountId, name: x.name, regions: x.regions })),
      });
    } else if (a === 'accounts' && method === 'GET' && !b) {
      json(res, 200, control.accounts());
    } else if (a === 'accounts' && method === 'POST' && !b) {
      json(res, 201, control.addAccount(input as unknown as GenerateOptions));
    } else if (a === 'accounts' && b && method === 'GET' && c === 'answer-key') {
      json(res, 200, control.answerKey(b));
    } else if (a === 'accounts' && b && method === 'GET' && c === 'traps') {
      json(res, 200, control.traps(b));
    } else if (a === 'accounts' && b && method === 'GET' && c === 'state') {
      json(res, 200, control.dumpState(b));
    } else if (a === 'accounts' && b && method === 'POST' && c === 'scan-role') {
      json(res, 201, control.createScanRole(b, input as unknown as ScanRoleOptions));
    } else if (a === 'accounts' && b && method === 'DELETE' && c === 'roles' && d) {
      json(res, control.deleteRole(b, d) ? 200 : 404, { deleted: d });
    } else if (a === 'faults' && method === 'GET') {
      json(res, 200, control.faults());
    } else if (a === 'faults' && method === 'POST') {
      json(res, 201, { id: control.injectFault(input as unknown as FaultRule) });
    } else if (a === 'faults' && method === 'DELETE') {
      if (b) json(res, control.removeFault(b) ? 200 : 404, { removed: b });
      else {
        control.clearFaults();
        json(res, 200, { removed: 'all' });
      }
    } else if (a === 'clock' && method === 'POST' && b === 'advance') {
      control.advanceTime(Number(input.ms ?? 0));
      json(res, 200, { now: new Date(control.now()).toISOString() });
    } else if (a === 'sessions' && method === 'POST' && b === 'expire') {
      json(res, 200, {
        expired: control.expireSessions(
          input.accountId as string | undefined,
          input.roleName as string | undefined,
        ),
      });
    } else if (a === 'diff' && method === 'POST') {
      json(
        res,
        200,
        control.diffStates(input.a as StateDump, input.b as StateDump, {
          ignore: input.ignore as string[] | undefined,
        }),
      );
    } else if (a === 'calls' && method === 'GET') {
      json(
        res,
        200,
        control.calls({
          service: url.searchParams.get('service') ?? undefined,
          operation: url.searchParams.get('operation') ?? undefined,
          accountId: url.searchParams.get('accountId') ?? undefined,
        }),
      );
    } else {
      json(res, 404, { error: `no control route ${method} ${url.pathname}` });
    }
  } catch (e) {
    json(res, 400, { error: e instanceof Error ? e.message : String(e) });
  }
}
