/**
 * Wiring only: the router (HTTP API + Temporal client) and the worker (activities + workflows),
 * started in-process from one configuration. The process entry points, the demo, the benchmark
 * and the integration tests all start the stack through here.
 */
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { startTracing } from '../common/tracing';
import { checkpointAge, logSize, noticesPending } from '../common/metrics';
import { NOTICE_KINDS } from '../domain/notices';
import { noticeCounts } from '../store/notices';
import { startOpsServer } from './ops';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, type TLSConfig } from '@temporalio/client';
import type { Context as ActivityContext } from '@temporalio/activity';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundleOption, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { operatorsFromFile } from '../temporal/codecServer';
import { listenBounded } from '../common/http';
import { createLogger, type Logger } from '../common/logger';
import { ensureLogKeys, loadCheckpointSigner, loadPartyIdentity, loadPayloadKeys, readNetworkFile } from '../network/folder';
import { checkLogSigner, latestCheckpoint, publishCheckpoint } from '../ledger/log';
import { UnauthenticatedRefusals } from '../ledger/noise';
import { startRouterGrpc } from '../router/grpcServer';
import type { RegulatorDeps } from '../router/regulator';
import { DirectoryHandle } from '../registry/handle';
import { createHttpApp } from '../router/http';
import { RELAYED_MAX_AGE_MS } from '../seal/hop';
import { DbNonceStore } from '../store/nonces';
import { openDb, storeId, type Db } from '../store/db';
import { loadDirectoryFromDb } from '../store/parties';
import { setPartyEndpoint } from '../operator/registry';
import { dzlDataConverter } from '../temporal/dataConverter';
import { createActivities } from '../worker/activities';
import { checkPolicyRecipients, minimisationPolicy } from '../routing/minimisation';
import { DEFAULT_RETENTION, TASK_QUEUE, type RetentionPolicy } from '../orchestration/contract';
import { createHash } from 'node:crypto';
import { PartyClients } from '../worker/partyClients';
import type { OutboundPolicy } from '../outbound/outbound';
import { retentionSweeper } from '../../workflows/lifecycle';

export interface StackConfig {
  dbUrl: string;
  networkDir: string;
  temporalAddress: string;
  /** Mutual TLS to the Temporal frontend (a cluster with TLS on); unset: plaintext, as the dev server wants. */
  temporalTls?: TemporalTls;
  namespace?: string;
  log?: Logger;
  logFile?: string;
  checkpointIntervalMs?: number;
  /** How often a router or worker rereads the registry besides when custody finds it changed (ms; default 5000). */
  registryRefreshMs?: number;
  /** How long the router keeps sealed payloads after an application ends. */
  retention?: RetentionPolicy;
  /** The longest the retention sweeper sleeps (default: a quarter of the shorter retention, at most a minute). */
  retentionSweepMs?: number;
  /** Where callbacks may go: internal addresses only when the operator allows (default: never). */
  outbound?: OutboundPolicy;
}

const outboundOf = (cfg: StackConfig): OutboundPolicy => cfg.outbound ?? { allowPrivateNetworks: false };

/** PEM files for mutual TLS to the Temporal frontend. */
export interface TemporalTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The name the frontend's certificate carries, when the address is an IP or a load balancer. */
  serverName?: string;
}

/** DZL_TEMPORAL_TLS_CA, _CERT, _KEY and _SERVER_NAME: all three files, or none. */
export function temporalTlsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalTls | undefined {
  const [caFile, certFile, keyFile] = [env.DZL_TEMPORAL_TLS_CA, env.DZL_TEMPORAL_TLS_CERT, env.DZL_TEMPORAL_TLS_KEY];
  if (!caFile && !certFile && !keyFile) return undefined;
  if (!caFile || !certFile || !keyFile) throw new Error('DZL_TEMPORAL_TLS_CA, DZL_TEMPORAL_TLS_CERT and DZL_TEMPORAL_TLS_KEY go together');
  return { caFile, certFile, keyFile, ...(env.DZL_TEMPORAL_TLS_SERVER_NAME ? { serverName: env.DZL_TEMPORAL_TLS_SERVER_NAME } : {}) };
}

/** The SDK's TLS options for a connection to the frontend (clients and workers alike). */
export function temporalTlsConfig(tls: TemporalTls | undefined): TLSConfig | undefined {
  if (!tls) return undefined;
  return {
    serverRootCACertificate: readFileSync(tls.caFile),
    clientCertPair: { crt: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
  };
}

function payloadConverter(networkDir: string) {
  const { current, previous } = loadPayloadKeys(networkDir);
  return dzlDataConverter(current, previous);
}

function sweepMs(cfg: StackConfig): number {
  const p = cfg.retention ?? DEFAULT_RETENTION;
  return cfg.retentionSweepMs ?? Math.max(100, Math.min(60_000, Math.floor(Math.min(p.approvedMs, p.otherMs) / 4)));
}

/** One retention sweeper per store, named by the store's own id (010): routers reaching it by other URLs share it. */
export async function sweeperIdOf(db: Db): Promise<string> {
  return `dzl-retention-sweeper-${(await storeId(db)).replace(/-/g, '').slice(0, 16)}`;
}

export interface RunningRouter {
  url: string;
  /** Appends the aggregate refusal leaves of unauthenticated noise counted so far (ledger/noise.ts). */
  flushNoise(): Promise<void>;
  /** The regulator's gRPC endpoint (mutual TLS). */
  grpcAddress: string;
  regulator: RegulatorDeps;
  db: Db;
  temporal: Client;
  directory: DirectoryHandle;
  /** healthz, readyz, metrics (services/runtime/ops.ts). */
  opsUrl: string;
  close(): Promise<void>;
}

function logger(cfg: StackConfig, name: string): Logger {
  return cfg.log ?? createLogger(name, cfg.logFile);
}

/**
 * Where a router listens. Unset: loopback and free ports (the demo, the tests). A cluster fixes
 * both, so banks' asynchronous calls and regulators can be pointed at a router that restarts.
 */
/** How long a stopping router lets requests in flight finish before it closes their connections. */
const ROUTER_DRAIN_MS = 10_000;

export interface RouterListen {
  /** HTTP API (platforms, regulators): default 127.0.0.1 and a free port. */
  host?: string;
  port?: number;
  /** gRPC, mutual TLS (banks, regulators): host:port, default 127.0.0.1:0 (a free port). */
  grpcAddress?: string;
  /**
   * The gRPC target published as the router's endpoint in the registry (a load balancer's
   * address, or grpc-js's `ipv4:h1:p1,h2:p2` over several routers). Default: the gRPC address
   * when it is fixed and not a wildcard; a router on a free port publishes nothing.
   */
  advertiseGrpc?: string;
  /** The HTTP base URL published with it (default: the HTTP address when fixed and not a wildcard). */
  advertiseUrl?: string;
  /** healthz, readyz and metrics: default 127.0.0.1 and a free port. */
  opsHost?: string;
  opsPort?: number;
}

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::' || host === '[::]';
const urlHost = (host: string) => (isWildcard(host) ? '127.0.0.1' : isIP(host) === 6 ? `[${host}]` : host);

/** What this router tells the registry about itself; undefined when its addresses are not fixed. */
function publishedEndpoints(listen: RouterListen, grpcAddress: string, url: string): { grpc?: string; web?: string } {
  const fixedGrpc = listen.grpcAddress && !listen.grpcAddress.endsWith(':0') && !isWildcard(listen.grpcAddress.slice(0, listen.grpcAddress.lastIndexOf(':')));
  const fixedHttp = listen.port && !isWildcard(listen.host ?? '127.0.0.1');
  const grpc = listen.advertiseGrpc ?? (fixedGrpc ? grpcAddress : undefined);
  const web = listen.advertiseUrl ?? (fixedHttp ? url : undefined);
  return { ...(grpc ? { grpc } : {}), ...(web ? { web } : {}) };
}

export async function startRouter(cfg: StackConfig, listen: RouterListen = {}): Promise<RunningRouter> {
  const db = await openDb(cfg.dbUrl);
  const { caPem } = readNetworkFile(cfg.networkDir);
  const directory = await DirectoryHandle.open(() => loadDirectoryFromDb(db, caPem), cfg.registryRefreshMs);
  // a policy that names an unknown field or bank fails here, not on the first credit report
  checkPolicyRecipients(directory.get(), minimisationPolicy());
  const tls = temporalTlsConfig(cfg.temporalTls);
  const connection = await Connection.connect({ address: cfg.temporalAddress, ...(tls ? { tls } : {}) });
  const tracing = startTracing('dzl-router');
  // the trace of the request that starts a workflow goes on in it (Temporal headers: traceparent and baggage only)
  const temporal = new Client({ connection, namespace: cfg.namespace ?? 'default', dataConverter: payloadConverter(cfg.networkDir), ...(tracing ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {}) });
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
  // one log, one key: a router configured with another origin or key does not start (several routers, one store)
  await checkLogSigner(db, regulator.log);
  // a checkpoint at a steady pace, so that witnesses have something recent to cosign; every
  // router's timer tries, and the log_state lock lets one sign each size (ledger/log.ts)
  const checkpointLog = logger(cfg, 'dzl-router');
  const checkpoints = setInterval(
    () => void publishCheckpoint(db, regulator.log).catch((err: unknown) => checkpointLog.warn({ err: err instanceof Error ? err.message : String(err) }, 'checkpoint not signed')),
    cfg.checkpointIntervalMs ?? 10_000,
  );
  checkpoints.unref();
  const routerIdentity = loadPartyIdentity(cfg.networkDir, 'router');
  const grpcServer = await startRouterGrpc(
    regulator,
    { db, directory: directory.get, refreshDirectory: directory.refresh, nonces, temporal, maxAgeMs: RELAYED_MAX_AGE_MS, router: routerIdentity, outbound: outboundOf(cfg) },
    routerIdentity,
    listen.grpcAddress,
    logger(cfg, 'dzl-router'),
  );
  try {
    await temporal.workflow.start(retentionSweeper, { taskQueue: TASK_QUEUE, workflowId: await sweeperIdOf(db) });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  const noise = new UnauthenticatedRefusals(db, logger(cfg, 'dzl-router'));
  // the network operators (public keys): the operator API's callers, and the codec server's
  const operators = operatorsFromFile(join(cfg.networkDir, 'operators', 'operators.json'));
  const app = createHttpApp({ db, directory: directory.get, refreshDirectory: directory.refresh, nonces, temporal, log: logger(cfg, 'dzl-router'), regulator, noise, router: routerIdentity, outbound: outboundOf(cfg), operators, ...(cfg.retention ? { retention: cfg.retention } : {}) });
  const host = listen.host ?? '127.0.0.1';
  // a router that is stopping tells each caller to close its connection, so that kept-alive
  // clients move to another router instead of holding this one open
  let stopping = false;
  const handler = app.callback();
  const server: Server = await listenBounded((req, res) => {
    if (stopping) res.setHeader('connection', 'close');
    return handler(req, res);
  }, listen.port ?? 0, host);
  const url = `http://${urlHost(host)}:${(server.address() as AddressInfo).port}`;
  const published = publishedEndpoints(listen, grpcServer.address, url);
  // routers behind one address all publish the same; the registry reaches running parties within seconds
  if (published.grpc || published.web) await setPartyEndpoint(db, routerIdentity.partyId, published);
  const ops = await startOpsServer(
    { store: () => db.raw('select 1'), temporal: () => connection.workflowService.getSystemInfo({}) },
    async () => {
      const cp = await latestCheckpoint(db);
      if (cp) {
        logSize.set(cp.treeSize);
        checkpointAge.set((Date.now() - cp.createdAt) / 1000);
      }
      for (const kind of NOTICE_KINDS) noticesPending.set({ kind }, (await noticeCounts(db, kind)).pending);
    },
    listen.opsPort ?? 0,
    listen.opsHost ?? '127.0.0.1',
  );
  return {
    url,
    opsUrl: ops.url,
    flushNoise: () => noise.flush(),
    grpcAddress: grpcServer.address,
    regulator,
    db,
    temporal,
    directory,
    close: async () => {
      // no new connections; idle ones closed now; requests in flight get ROUTER_DRAIN_MS to finish
      stopping = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const drain = setTimeout(() => server.closeAllConnections(), ROUTER_DRAIN_MS);
      await closed;
      clearTimeout(drain);
      await ops.close();
      await noise.close().catch(() => undefined);
      clearInterval(pruning);
      clearInterval(checkpoints);
      grpcServer.server.forceShutdown();
      directory.close();
      await connection.close();
      await db.destroy();
    },
  };
}

const WORKFLOWS_PATH = require.resolve('../../workflows');
// the one dzlDataConverter names (services/temporal/dataConverter.ts)
const FAILURE_CONVERTER_PATH = require.resolve('../temporal/failureConverter');
// the Temporal SDK's OpenTelemetry workflow interceptors, bundled with the workflows
const OTEL_WORKFLOW_INTERCEPTORS = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/**
 * The workflow code bundled for the sandbox, with the failure converter the worker's data
 * converter names: a bundle without it would leave the workflows' own error messages in plain
 * history.
 */
export function bundleWorkflows(opts: { traced?: boolean } = {}): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    // traced: the Temporal SDK's OpenTelemetry workflow interceptors inside (spans cost ~9 ms of CPU
    // per application in the bench even when exported nowhere, so an untraced worker runs without them)
    ...(opts.traced ? { workflowInterceptorModules: [OTEL_WORKFLOW_INTERCEPTORS] } : {}),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietBundlerLogger,
  });
}

/** `make build` writes the bundles here (deploy/bin/bundleWorkflows.ts); `dzl worker` loads the one it needs. */
export const WORKFLOW_BUNDLE_PATH = resolve(__dirname, '..', '..', 'workflow-bundle.js');
export const TRACED_WORKFLOW_BUNDLE_PATH = resolve(__dirname, '..', '..', 'workflow-bundle.traced.js');

interface BundleManifest {
  /** SHA-256 over the compiled workflow modules and the SDK version the bundle was built from. */
  sources: string;
}

/**
 * What a bundle is built from: the compiled workflow modules, every module of ours they require
 * (followed through the compiled `require("./…")` calls, so a move of code the workflows import
 * is seen), the failure converter, and the SDK version.
 */
function workflowSourcesDigest(): string {
  const root = dirname(dirname(WORKFLOWS_PATH));
  const seen = new Set<string>();
  const pending = [WORKFLOWS_PATH, FAILURE_CONVERTER_PATH];
  while (pending.length) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) pending.push(require.resolve(join(dirname(file), m[1]!)));
  }
  const h = createHash('sha256');
  for (const f of [...seen].sort()) h.update(f.slice(root.length)).update('\0').update(readFileSync(f)).update('\0');
  const sdk = JSON.parse(readFileSync(require.resolve('@temporalio/workflow/package.json'), 'utf8')) as { version: string };
  const otel = JSON.parse(readFileSync(require.resolve('@temporalio/interceptors-opentelemetry/package.json'), 'utf8')) as { version: string };
  return h.update(`@temporalio/workflow@${sdk.version}`).update(`@temporalio/interceptors-opentelemetry@${otel.version}`).digest('hex');
}

/** Bundles the workflows once and writes the bundle with a manifest of what it was built from. */
export async function writeWorkflowBundle(path = WORKFLOW_BUNDLE_PATH, traced = false): Promise<{ path: string; bytes: number }> {
  const { code } = await bundleWorkflows({ traced });
  const manifest: BundleManifest = { sources: workflowSourcesDigest() };
  writeFileSync(`${path}.tmp`, code);
  writeFileSync(`${path}.json`, JSON.stringify(manifest));
  renameSync(`${path}.tmp`, path);
  return { path, bytes: Buffer.byteLength(code) };
}

/**
 * The prebuilt bundle when it was built from the workflow code now compiled; otherwise why not
 * (the worker then bundles at start, as before). A stale bundle would run old workflow code.
 */
export function prebuiltWorkflowBundle(traced = false, path = traced ? TRACED_WORKFLOW_BUNDLE_PATH : WORKFLOW_BUNDLE_PATH): { codePath: string } | { unusable: string } {
  if (!existsSync(path) || !existsSync(`${path}.json`)) return { unusable: `no prebuilt bundle at ${path}` };
  const manifest = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Partial<BundleManifest>;
  if (manifest.sources !== workflowSourcesDigest()) return { unusable: `${path} was built from other workflow code; run \`make build\`` };
  return { codePath: path };
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
  /** The registry as this worker sees it (reloaded every few seconds, or now with refresh()). */
  directory: DirectoryHandle;
  /** healthz, readyz, metrics (services/runtime/ops.ts). */
  opsUrl: string;
  close(): Promise<void>;
}

/**
 * The SDK's own logs go through the project's logger at warn level (they carry ids only); its own
 * metrics (task slots, poll and schedule-to-start latencies, sticky cache, activity and workflow
 * task outcomes, with the temporal_ prefix) are served for Prometheus at `metricsAddress` when given.
 */
function installTemporalRuntime(log: Logger, metricsAddress?: string): void {
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN', (entry) => log.warn({ temporal: entry.meta?.['sdkComponent'] }, entry.message)),
      ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } } : {}),
    });
  } catch {
    // already installed in this process (tests run several workers in one)
    if (metricsAddress) log.warn({ metricsAddress }, 'the Temporal runtime was installed already; its metrics are not served here');
  }
}

export async function startWorker(cfg: StackConfig, opts: { bundle?: WorkflowBundleOption; maxConcurrentActivities?: number; opsHost?: string; opsPort?: number; temporalMetrics?: string } = {}): Promise<RunningWorker> {
  const log = logger(cfg, 'dzl-worker');
  installTemporalRuntime(log, opts.temporalMetrics);
  const tracing = startTracing('dzl-worker');
  const db = await openDb(cfg.dbUrl);
  const { caPem } = readNetworkFile(cfg.networkDir);
  const directory = await DirectoryHandle.open(() => loadDirectoryFromDb(db, caPem), cfg.registryRefreshMs);
  const routerIdentity = loadPartyIdentity(cfg.networkDir, 'router');
  const parties = new PartyClients(routerIdentity, directory.get);
  const tls = temporalTlsConfig(cfg.temporalTls);
  const connection = await NativeConnection.connect({ address: cfg.temporalAddress, ...(tls ? { tls } : {}) });
  const worker = await Worker.create({
    connection,
    namespace: cfg.namespace ?? 'default',
    taskQueue: TASK_QUEUE,
    ...(opts.bundle ? { workflowBundle: opts.bundle } : { workflowsPath: WORKFLOWS_PATH }),
    // Temporal's own spans (RunWorkflow, StartActivity, RunActivity), children of the router's;
    // the workflows' spans leave the sandbox through the `exporter` sink (off: dropped)
    // (only when tracing is on: a bundle given must then be the traced one, prebuiltWorkflowBundle(true))
    ...(tracing
      ? {
          interceptors: {
            ...(opts.bundle ? {} : { workflowModules: [OTEL_WORKFLOW_INTERCEPTORS] }),
            activity: [(ctx: ActivityContext) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
          },
        }
      : {}),
    // the sink a traced bundle's workflows call, registered either way (a traced bundle on an untraced worker drops its spans)
    sinks: { exporter: makeWorkflowExporter(tracing?.processor ?? new NoopSpanProcessor(), tracing?.resource ?? Resource.empty()) },
    activities: createActivities({ db, directory: directory.get, refreshDirectory: directory.refresh, nonces: new DbNonceStore(db, RELAYED_MAX_AGE_MS), router: routerIdentity, parties, log, retentionSweepMs: sweepMs(cfg), outbound: outboundOf(cfg) }),
    dataConverter: payloadConverter(cfg.networkDir),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 64,
    // on SIGTERM: activities in flight get this long to finish; Temporal hands the rest to another worker
    shutdownGraceTime: '20s',
  });
  const done = worker.run();
  const ops = await startOpsServer(
    {
      store: () => db.raw('select 1'),
      worker: async () => {
        if (worker.getState() !== 'RUNNING') throw new Error('not running');
      },
    },
    async () => undefined,
    opts.opsPort ?? 0,
    opts.opsHost ?? '127.0.0.1',
  );
  return {
    worker,
    directory,
    done,
    opsUrl: ops.url,
    close: async () => {
      await ops.close();
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
