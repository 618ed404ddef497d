// The demo's cloud account, onboarded the way a customer would: the operator creates a connection
// (Axiom issues the External ID), "the customer" creates the scan role in the sandbox account with the
// trust policy Axiom presented, opts in one execution role per action class, tests the connection and
// starts the first scan. The sandbox keeps its state in memory, so on every start the roles are made
// again from the External ID the database holds, and a fresh scan reads the regenerated account.
import type { Api, Caller } from '../db/api.js';
import {
  createConnection,
  setExecutionRole,
  testConnection,
  type CloudDeps,
  type Connection,
} from '../cloud/connections.js';
import { ACTION_CLASSES } from '../execution/catalog.js';
import { executionRolePolicy } from '../execution/permissions.js';
import type { Queue } from '../jobs/queue.js';
import type { Logger } from '../logger.js';
import type { Sandbox } from '../sandbox/index.js';

export interface DemoOperator {
  organization: string;
  email: string;
  password: string;
}

export interface DemoConnection {
  connectionId: string;
  accountId: string;
  scanId: string | null;
  tested: boolean;
}

const SCAN_ROLE = 'AxiomScanRole';
const executionRoleName = (cls: string): string =>
  `AxiomExecute${cls[0]!.toUpperCase()}${cls.slice(1)}`;

/** Connect the demo account (once) and start a scan (every start). */
export async function connectDemo(opts: {
  api: Api;
  deps: CloudDeps;
  sandbox: Sandbox;
  queue: Queue;
  operator: DemoOperator;
  facilityId: string;
  logger: Logger;
}): Promise<DemoConnection> {
  const { api, deps, sandbox } = opts;
  const account = sandbox.accounts[0];
  if (!account) throw new Error('the demo sandbox has no account');
  const accountId = account.accountId;
  const login = await api.raw<{ token: string }>('session_login_password', [
    opts.operator.organization,
    opts.operator.email,
    opts.operator.password,
    { user_agent: 'axiom demo' },
  ]);
  const caller: Caller = { token: login.token };
  try {
    const existing = (
      await api.call<Connection[]>('connection_list', caller, opts.facilityId)
    ).find((c) => c.account_id === accountId && c.status !== 'disconnected');
    const connection =
      existing ??
      (await createConnection(deps, caller, {
        facilityId: opts.facilityId,
        accountId,
        roleArn: `arn:aws:iam::${accountId}:role/${SCAN_ROLE}`,
        name: 'Demo account (sandbox)',
        regions: ['us-east-1', 'eu-west-1'],
      }));
    const externalId = connection.external_ids.find((e) => e.current)?.external_id;
    if (!externalId) throw new Error('the demo connection has no current External ID');

    // What the customer's administrator does in their account with the onboarding material.
    sandbox.control.createScanRole(accountId, { externalId, roleName: SCAN_ROLE });
    let current = connection;
    for (const cls of ACTION_CLASSES) {
      const role = sandbox.control.createScanRole(accountId, {
        externalId,
        roleName: executionRoleName(cls),
        managedPolicyArns: [],
        inlinePolicy: executionRolePolicy(cls),
      });
      if (!current.execution_roles[cls])
        current = await setExecutionRole(deps, caller, connection.id, cls, role.roleArn);
    }

    const { report } = await testConnection(deps, caller, connection.id);
    if (!report.ok) {
      opts.logger.warn({ connection: connection.id }, 'the demo connection did not pass its test');
      return { connectionId: connection.id, accountId, scanId: null, tested: false };
    }
    const scan = await api.call<{ id: string }>('scan_start', caller, connection.id, 'manual');
    const org = await deps.dataKeys.organizationOf(caller);
    await opts.queue.enqueueScan({ organization_id: org, scan_id: scan.id });
    return { connectionId: connection.id, accountId, scanId: scan.id, tested: true };
  } finally {
    await api.call('session_logout', caller).catch(() => undefined);
  }
}
