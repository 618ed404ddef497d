// The sandbox's world: accounts, issued credentials, the clock, and the authorisation decision
// for a caller (identity policies, session policy, resource policy).
import type { Clock } from './clock.js';
import { createRng } from './prng.js';
import { accessKeyId, ec2Id, principalId, secretAccessKey } from './ids.js';
import { managedPolicyByArn } from './managed-policies.js';
import {
  evaluate,
  evaluateResourcePolicy,
  parsePolicy,
  type Decision,
  type PolicyDocument,
  type RequestContext,
} from './policy.js';
import {
  newRegion,
  type Account,
  type Credential,
  type IamUser,
  type RegionState,
} from './state.js';
import type { Caller } from './framework.js';

export const KNOWN_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'sa-east-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-southeast-1',
  'ap-southeast-2',
];

export interface Delays {
  /** CreateSnapshot / CreateDBSnapshot: pending → completed. */
  snapshotMs: number;
  /** Instance stopping → stopped, pending → running. */
  instanceTransitionMs: number;
  /** ModifyVolume: modifying → completed. */
  volumeModificationMs: number;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export class Engine {
  readonly accounts = new Map<string, Account>();
  readonly credentials = new Map<string, Credential>();
  /** Bucket name → owning account id (bucket names are global). */
  readonly bucketOwners = new Map<string, string>();
  private readonly policyCache = new Map<string, PolicyDocument | null>();

  constructor(
    readonly clock: Clock,
    readonly delays: Delays,
  ) {}

  now(): number {
    return this.clock.now();
  }

  /** An empty account with an IAM root identity and no regions enabled yet. */
  createAccount(id: string, name: string, seed: string): Account {
    if (this.accounts.has(id)) throw new Error(`account ${id} already exists`);
    const account: Account = {
      id,
      name,
      seed,
      iam: {
        users: new Map(),
        roles: new Map(),
        root: { createDate: this.now(), mfaEnabled: true, accessKeys: [] },
      },
      s3: { buckets: new Map(), legacyNoDefaultEncryption: false },
      regions: new Map(),
      enabledRegions: [],
    };
    this.accounts.set(id, account);
    return account;
  }

  /** The account's state in a region, created (empty, no default VPC) on first use. */
  region(account: Account, name: string): RegionState {
    let r = account.regions.get(name);
    if (!r) {
      const rng = createRng(`${account.seed}/region/${name}`);
      r = newRegion(name, ec2Id('vpc', rng), [
        { id: ec2Id('subnet', rng), az: `${name}a` },
        { id: ec2Id('subnet', rng), az: `${name}b` },
      ]);
      account.regions.set(name, r);
    }
    return r;
  }

  /** Add an IAM user with an access key, registering the key so it can sign requests. */
  addUser(
    account: Account,
    name: string,
    opts: { attached?: string[]; createDate?: number; keyCreateDate?: number; seed?: string } = {},
  ): { user: IamUser; credentials: AwsCredentials } {
    const rng = createRng(`${account.seed}/user/${name}/${opts.seed ?? ''}`);
    const user: IamUser = {
      name,
      id: principalId('AIDA', rng),
      arn: `arn:aws:iam::${account.id}:user/${name}`,
      path: '/',
      createDate: opts.createDate ?? this.now(),
      passwordEnabled: false,
      mfaDevices: [],
      accessKeys: [],
      inline: {},
      attached: opts.attached ?? [],
      tags: [],
    };
    const key = {
      id: accessKeyId('long', rng),
      secret: secretAccessKey(),
      status: 'Active' as const,
      createDate: opts.keyCreateDate ?? this.now(),
    };
    user.accessKeys.push(key);
    account.iam.users.set(name, user);
    this.credentials.set(key.id, {
      accessKeyId: key.id,
      secret: key.secret,
      accountId: account.id,
      userName: name,
    });
    return { user, credentials: { accessKeyId: key.id, secretAccessKey: key.secret } };
  }

  /** Forget STS sessions that expired more than an hour ago (bounded memory under load). */
  pruneExpiredSessions(): void {
    const cutoff = this.now() - 3600_000;
    for (const [id, c] of this.credentials)
      if (c.session && c.session.expiresAt < cutoff) this.credentials.delete(id);
  }

  /** The Caller behind a credential, or undefined when its user/key no longer exists. */
  callerFor(cred: Credential): Caller | undefined {
    const account = this.accounts.get(cred.accountId);
    if (!account) return undefined;
    if (cred.session) {
      const s = cred.session;
      return {
        accountId: account.id,
        arn: `arn:aws:sts::${account.id}:assumed-role/${s.roleName}/${s.sessionName}`,
        principalArn: s.roleArn,
        userId: `${s.roleId}:${s.sessionName}`,
        accessKeyId: cred.accessKeyId,
        session: s,
      };
    }
    const user = cred.userName ? account.iam.users.get(cred.userName) : undefined;
    if (!user) return undefined;
    const key = user.accessKeys.find((k) => k.id === cred.accessKeyId);
    if (!key || key.status !== 'Active') return undefined;
    return {
      accountId: account.id,
      arn: user.arn,
      principalArn: user.arn,
      userId: user.id,
      accessKeyId: cred.accessKeyId,
      userName: user.name,
    };
  }

  parsePolicyCached(text: string): PolicyDocument | null {
    let doc = this.policyCache.get(text);
    if (doc === undefined) {
      try {
        doc = parsePolicy(text);
      } catch {
        doc = null;
      }
      if (this.policyCache.size > 5000) this.policyCache.clear();
      this.policyCache.set(text, doc);
    }
    return doc;
  }

  /** The parsed identity policies (inline and attached managed) of a user or role. */
  documents(inline: Record<string, string>, attached: string[]): PolicyDocument[] {
    const docs: PolicyDocument[] = [];
    for (const text of Object.values(inline)) {
      const d = this.parsePolicyCached(text);
      if (d) docs.push(d);
    }
    for (const arn of attached) {
      const m = managedPolicyByArn(arn);
      const d = m && this.parsePolicyCached(m.document);
      if (d) docs.push(d);
    }
    return docs;
  }

  requestContext(caller: Caller, region: string, extra?: RequestContext): RequestContext {
    const now = this.now();
    return {
      'aws:PrincipalAccount': caller.accountId,
      'aws:PrincipalArn': caller.principalArn,
      'aws:userid': caller.userId,
      'aws:username': caller.userName,
      'aws:PrincipalType': caller.session ? 'AssumedRole' : 'User',
      'aws:SourceIp': '127.0.0.1',
      'aws:SecureTransport': 'true',
      'aws:MultiFactorAuthPresent': 'false',
      'aws:CurrentTime': new Date(now).toISOString(),
      'aws:EpochTime': String(Math.floor(now / 1000)),
      'aws:RequestedRegion': region,
      ...extra,
    };
  }

  /**
   * The decision for caller → action on resource. Identity policies (the user's, or the role's
   * for a session) must allow, a session policy must also allow, and an explicit Deny anywhere —
   * including a resource policy — wins. A resource policy can grant on its own within its account.
   */
  decide(
    caller: Caller,
    action: string,
    resource: string,
    region: string,
    extra?: RequestContext,
    resourcePolicy?: { doc: PolicyDocument; ownerAccountId: string },
  ): Decision {
    const account = this.accounts.get(caller.accountId);
    if (!account) return 'implicit-deny';
    let identity: PolicyDocument[];
    let sessionPolicy: PolicyDocument | undefined;
    if (caller.session) {
      const role = account.iam.roles.get(caller.session.roleName);
      if (!role || role.arn !== caller.session.roleArn) return 'implicit-deny';
      identity = this.documents(role.inline, role.attached);
      if (caller.session.sessionPolicy) {
        sessionPolicy = this.parsePolicyCached(caller.session.sessionPolicy) ?? undefined;
      }
    } else {
      const user = caller.userName ? account.iam.users.get(caller.userName) : undefined;
      if (!user) return 'implicit-deny';
      identity = this.documents(user.inline, user.attached);
    }
    const req = { action, resource, context: this.requestContext(caller, region, extra) };
    const idDecision = evaluate(identity, req);
    if (idDecision === 'explicit-deny') return idDecision;
    let sessionDecision: Decision = 'allow';
    if (sessionPolicy) {
      sessionDecision = evaluate([sessionPolicy], req);
      if (sessionDecision === 'explicit-deny') return sessionDecision;
    }
    let resDecision: Decision = 'implicit-deny';
    if (resourcePolicy) {
      resDecision = evaluateResourcePolicy(
        resourcePolicy.doc,
        { accountId: caller.accountId, principalArn: caller.principalArn },
        req,
      );
      if (resDecision === 'explicit-deny') return resDecision;
    }
    const sameAccount = !resourcePolicy || resourcePolicy.ownerAccountId === caller.accountId;
    if (sameAccount) {
      if ((idDecision === 'allow' || resDecision === 'allow') && sessionDecision === 'allow')
        return 'allow';
      return 'implicit-deny';
    }
    return idDecision === 'allow' && resDecision === 'allow' && sessionDecision === 'allow'
      ? 'allow'
      : 'implicit-deny';
  }
}
