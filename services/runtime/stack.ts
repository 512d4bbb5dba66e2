/**
 * Wiring only: the router (HTTP API + Temporal client) and the worker (activities + workflows),
 * started in-process from one configuration. The process entry points, the demo, the benchmark
 * and the integration tests all start the stack through here.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundleOption, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../common/logger';
import { ensureLogKeys, loadCheckpointSigner, loadPartyIdentity, loadPayloadKeys, readNetworkFile } from '../network/folder';
import { publishCheckpoint } from '../ledger/log';
import { startRouterGrpc } from '../router/grpcServer';
import type { RegulatorDeps } from '../router/regulator';
import { DirectoryHandle } from '../registry/handle';
import { createHttpApp } from '../router/http';
import { RELAYED_MAX_AGE_MS } from '../seal/hop';
import { DbNonceStore } from '../store/nonces';
import { openDb, type Db } from '../store/db';
import { loadDirectoryFromDb } from '../store/parties';
import { dzlDataConverter } from '../temporal/dataConverter';
import { createActivities } from '../worker/activities';
import { checkPolicyRecipients, minimisationPolicy } from '../routing/minimisation';
import { DEFAULT_RETENTION, TASK_QUEUE, type RetentionPolicy } from '../orchestration/contract';
import { createHash } from 'node:crypto';
import { PartyClients } from '../worker/partyClients';

export interface StackConfig {
  dbUrl: string;
  networkDir: string;
  temporalAddress: string;
  namespace?: string;
  log?: Logger;
  logFile?: string;
  checkpointIntervalMs?: number;
  /** How long the router keeps sealed payloads after an application ends. */
  retention?: RetentionPolicy;
  /** The longest the retention sweeper sleeps (default: a quarter of the shorter retention, at most a minute). */
  retentionSweepMs?: number;
}

function payloadConverter(networkDir: string) {
  const { current, previous } = loadPayloadKeys(networkDir);
  return dzlDataConverter(current, previous);
}

function sweepMs(cfg: StackConfig): number {
  const p = cfg.retention ?? DEFAULT_RETENTION;
  return cfg.retentionSweepMs ?? Math.max(100, Math.min(60_000, Math.floor(Math.min(p.approvedMs, p.otherMs) / 4)));
}

/** One retention sweeper per router store (routers sharing a store share it). */
export function sweeperIdFor(dbUrl: string): string {
  const u = dbUrl.replace(/\/\/[^@/]*@/, '//');
  return `dzl-retention-sweeper-${createHash('sha256').update(u).digest('hex').slice(0, 16)}`;
}

export interface RunningRouter {
  url: string;
  /** The regulator's gRPC endpoint (mutual TLS). */
  grpcAddress: string;
  regulator: RegulatorDeps;
  db: Db;
  temporal: Client;
  directory: DirectoryHandle;
  close(): Promise<void>;
}

function logger(cfg: StackConfig, name: string): Logger {
  return cfg.log ?? createLogger(name, cfg.logFile);
}

export async function startRouter(cfg: StackConfig, port = 0): Promise<RunningRouter> {
  const db = await openDb(cfg.dbUrl);
  const { caPem } = readNetworkFile(cfg.networkDir);
  const directory = await DirectoryHandle.open(() => loadDirectoryFromDb(db, caPem));
  // a policy that names an unknown field or bank fails here, not on the first credit report
  checkPolicyRecipients(directory.get(), minimisationPolicy());
  const connection = await Connection.connect({ address: cfg.temporalAddress });
  const temporal = new Client({ connection, namespace: cfg.namespace ?? 'default', dataConverter: payloadConverter(cfg.networkDir) });
  // kept for the longest window any check uses: older nonces can never pass an issued-at check
  const nonces = new DbNonceStore(db, RELAYED_MAX_AGE_MS);
  const pruning = setInterval(() => void nonces.prune().catch(() => undefined), 60_000);
  pruning.unref();
  const network = ensureLogKeys(cfg.networkDir);
  const regulator: RegulatorDeps = {
    db,
    directory: directory.get,
    log: { origin: network.log!.origin, signer: loadCheckpointSigner(cfg.networkDir) },
    trust: network.log!,
  };
  // a checkpoint at a steady pace, so that witnesses have something recent to cosign
  const checkpoints = setInterval(() => void publishCheckpoint(db, regulator.log).catch(() => undefined), cfg.checkpointIntervalMs ?? 10_000);
  checkpoints.unref();
  const routerIdentity = loadPartyIdentity(cfg.networkDir, 'router');
  const grpcServer = await startRouterGrpc(
    regulator,
    { db, directory: directory.get, nonces, temporal, maxAgeMs: RELAYED_MAX_AGE_MS, router: routerIdentity },
    routerIdentity,
  );
  try {
    await temporal.workflow.start('retentionSweeper', { taskQueue: TASK_QUEUE, workflowId: sweeperIdFor(cfg.dbUrl) });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  const app = createHttpApp({ db, directory: directory.get, nonces, temporal, log: logger(cfg, 'dzl-router'), regulator, router: routerIdentity, ...(cfg.retention ? { retention: cfg.retention } : {}) });
  const server: Server = app.listen(port, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    grpcAddress: grpcServer.address,
    regulator,
    db,
    temporal,
    directory,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      clearInterval(pruning);
      clearInterval(checkpoints);
      grpcServer.server.forceShutdown();
      directory.close();
      await connection.close();
      await db.destroy();
    },
  };
}

export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietBundlerLogger });
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (msg: string) => process.stderr.write(`workflow bundle: ${msg}\n`),
};

export interface RunningWorker {
  worker: Worker;
  done: Promise<void>;
  close(): Promise<void>;
}

/** The SDK's own logs go through the project's logger at warn level (they carry ids only). */
function installTemporalRuntime(log: Logger): void {
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN', (entry) => log.warn({ temporal: entry.meta?.['sdkComponent'] }, entry.message)),
    });
  } catch {
    // already installed in this process
  }
}

export async function startWorker(cfg: StackConfig, opts: { bundle?: WorkflowBundleOption; maxConcurrentActivities?: number } = {}): Promise<RunningWorker> {
  const log = logger(cfg, 'dzl-worker');
  installTemporalRuntime(log);
  const db = await openDb(cfg.dbUrl);
  const { caPem } = readNetworkFile(cfg.networkDir);
  const directory = await DirectoryHandle.open(() => loadDirectoryFromDb(db, caPem));
  const routerIdentity = loadPartyIdentity(cfg.networkDir, 'router');
  const parties = new PartyClients(routerIdentity, directory.get);
  const connection = await NativeConnection.connect({ address: cfg.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: cfg.namespace ?? 'default',
    taskQueue: TASK_QUEUE,
    ...(opts.bundle ? { workflowBundle: opts.bundle } : { workflowsPath: require.resolve('../../workflows') }),
    activities: createActivities({ db, directory: directory.get, nonces: new DbNonceStore(db, RELAYED_MAX_AGE_MS), router: routerIdentity, parties, log, retentionSweepMs: sweepMs(cfg) }),
    dataConverter: payloadConverter(cfg.networkDir),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 64,
  });
  const done = worker.run();
  return {
    worker,
    done,
    close: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done.catch(() => undefined);
      parties.close();
      directory.close();
      await connection.close();
      await db.destroy();
    },
  };
}

export { TASK_QUEUE };
