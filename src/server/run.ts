// Everything `axiom start` brings up, in order, and takes down in reverse: the database (embedded or
// DATABASE_URL), the HTTPS server with the dashboard, and — when the demo is on — the sandbox cloud
// with a generated account and a demo organization. Each part registers its own shutdown.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { openDatabase, type OpenDatabase } from '../db/database.js';
import { connectDemo, proposeFirstPlans, type DemoConnection } from '../demo/connect.js';
import { seedDemo } from '../demo/seed.js';
import { cloudDeps } from '../cloud/index.js';
import { connectionString } from '../db/bootstrap.js';
import { openQueue, type Queue } from '../jobs/queue.js';
import { onShutdown } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import type { CloudSettings } from '../cloud/aws.js';
import { startInstallationWorker } from '../jobs/worker.js';
import { LocalKeyFile } from '../security/kek.js';
import { startServer, type RunningServer } from './index.js';

/** What the demo prints on every start (kept in <data dir>/demo.json, mode 0600). */
export interface DemoSignIn {
  organization: string;
  email: string;
  password: string;
  organizationId: string;
  /** The other demo people (the operator who runs the cloud account first). */
  people?: Array<{ email: string; password: string; name: string }>;
  /** The facility the demo account is connected in. */
  facilityId?: string;
}

export interface RunningAxiom {
  db: OpenDatabase;
  server: RunningServer;
  sandbox?: Sandbox;
  demo?: DemoSignIn;
  /** The demo account's connection and the scan started for it (null when its test failed). */
  demoConnection?: DemoConnection;
  /** The plans the agent proposes once that scan is done (ids; empty when none could be). */
  firstPlans?: Promise<string[]>;
}

function demoFile(config: Config): string {
  return path.join(config.dataDir, 'demo.json');
}

function readDemo(config: Config): DemoSignIn | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(demoFile(config), 'utf8')) as Partial<DemoSignIn>;
    if (v.organization && v.email && v.password && v.organizationId) return v as DemoSignIn;
  } catch {
    // not seeded yet
  }
  return undefined;
}

function writeDemo(config: Config, demo: DemoSignIn): void {
  fs.writeFileSync(demoFile(config), `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
}

export async function runAxiom(config: Config, logger: Logger): Promise<RunningAxiom> {
  const db = await openDatabase(config, logger);
  onShutdown(() => db.stop());
  const kek = LocalKeyFile.open(config.kekFile, { create: true });

  // The demo's cloud is the sandbox: its endpoint and its platform identity stand in for AWS and for
  // Axiom's own AWS account. Without the demo, the configuration (AWS_ENDPOINT_URL, the SDK's default
  // credential chain) decides.
  let sandbox: Sandbox | undefined;
  let settings: Partial<CloudSettings> | undefined;
  if (config.demo.enabled) {
    sandbox = await startSandbox({
      port: config.demo.sandboxPort,
      accounts: [
        { seed: 'axiom-demo', size: config.demo.size, regions: ['us-east-1', 'eu-west-1'] },
      ],
    });
    onShutdown(() => sandbox!.stop());
    settings = {
      endpointUrl: sandbox.endpoint,
      platformAccountId: sandbox.platform.accountId,
      platformCredentials: sandbox.platform.credentials,
    };
  }
  // One queue client for the server's routes and the demo's first scan.
  let queue: Queue | undefined;
  if (db.targets.worker) {
    queue = await openQueue(connectionString(db.targets.worker), logger);
    onShutdown(() => queue!.close());
  }
  const server = await startServer({
    config,
    logger,
    db,
    kek,
    cloud: { ...(settings ? { settings } : {}), ...(queue ? { queue } : {}) },
  });
  onShutdown(() => server.close());
  const worker = await startInstallationWorker({
    config,
    logger,
    db,
    ...(settings ? { settings } : {}),
  });
  onShutdown(() => worker.stop());
  if (!sandbox) return { db, server };

  let demo = readDemo(config);
  if (!demo) {
    const seed = await seedDemo(server.api, {
      bootstrapSecret: db.secrets.bootstrapSecret,
      kek,
      slug: 'demo',
      keyBits: config.orgKeyBits,
    });
    demo = {
      organization: seed.organization.slug,
      organizationId: seed.organization.id,
      email: seed.admin.email,
      password: seed.admin.password,
      facilityId: seed.facilities.prod.id,
      people: seed.people.map((p) => ({ email: p.email, password: p.password, name: p.name })),
    };
    writeDemo(config, demo);
    logger.info({ organization: demo.organization }, 'demo organization created');
  }
  const operator = demo.people?.find((p) => p.email.startsWith('olivia@'));
  if (!operator || !demo.facilityId || !queue) return { db, server, sandbox, demo };
  const demoConnection = await connectDemo({
    api: server.api,
    deps: cloudDeps(config, server.api, kek, settings),
    sandbox,
    queue,
    operator: {
      organization: demo.organization,
      email: operator.email,
      password: operator.password,
    },
    facilityId: demo.facilityId,
    logger,
  });
  // Once the first scan is done, the agent proposes a few low-risk plans: a newcomer finds a plan
  // waiting for a signature. In the background; a failure is logged, never fatal.
  const firstPlans = demoConnection.scanId
    ? proposeFirstPlans({
        api: server.api,
        workerSecret: db.secrets.workerSecret,
        organizationId: demo.organizationId,
        facilityId: demo.facilityId,
        scanId: demoConnection.scanId,
        logger,
      }).catch((e: unknown) => {
        logger.warn({ err: e }, 'the demo agent proposed no plan');
        return [] as string[];
      })
    : Promise.resolve([] as string[]);
  return { db, server, sandbox, demo, demoConnection, firstPlans };
}
