/**
 * `make cluster-test`: the fault matrix (issue 14) against the running cluster (make cluster-up).
 * For each fault: a steady load of data-channel applications, submitted as the platform would —
 * signed with its key, round robin over the routers, each retried with the same Idempotency-Key
 * and bytes until a router answers — while one component is killed (SIGKILL) or stopped
 * (SIGTERM) and then started again (`deploy/cluster.sh up` starts whatever is down). Afterwards
 * every application must reach exactly one final outcome at the platform process, the outcome the
 * same customer gets without a fault; and nothing may be duplicated: one workflow run, one
 * application hop, one credit report and one decision per bank, one decision opened by the
 * platform; each application's evidence bundle verifies offline — and a repeat of each submission after its end answers the application, starting
 * nothing. One line per fault:
 *
 *   <fault>: submitted N, final N, lost 0, duplicated 0, changed 0, evidence unverified 0, recovered in S s
 *
 * `recovered in`: from the fault until every application submitted before it had its final
 * outcome. Exits 1 if any count but submitted and final is not 0.
 *
 *   node dist/deploy/bin/faults.js [--only router-kill,worker-kill] [--apps 40] [--rate 4]
 */
import { Connection, Client } from '@temporalio/client';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hopsOfApplication } from '../../services/ledger/ledger';
import { loadCheckpointSigner, loadDirectory, loadPartyIdentity, readNetworkFile } from '../../services/network/folder';
import { applicationBundle } from '../../services/ledger/bundles';
import type { LogConfig } from '../../services/ledger/log';
import { verifyBundle } from '../../services/evidence/verify';
import { decide, scoreApplication } from '../../services/parties/plugins';
import { ReferencePlatform, type PreparedApplication } from '../../services/parties/platform';
import { syntheticCustomer } from '../../services/parties/samples';
import { DEV } from '../../services/runtime/localNetwork';
import { temporalTlsConfig, temporalTlsFromEnv } from '../../services/runtime/stack';
import { getApplication } from '../../services/store/applications';
import { openDb, type Db } from '../../services/store/db';
import { clusterPartiesFromEnv, clusterPartyPlan } from './parties';

const env = (name: string, fallback: string) => process.env[name] || fallback;
const say = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROOT = resolve(__dirname, '..', '..', '..');

interface Fault {
  name: string;
  /** The cluster's process names (deploy/cluster.sh status) to signal. */
  processes: string[];
  signal: 'SIGKILL' | 'SIGTERM';
  /** A database the cluster does not run itself: its pids, and how it is started again. */
  service?: { pids: () => number[]; start: () => Promise<void> };
}

/** Runs a command to completion; its output when it fails. */
function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolveRun() : reject(new Error(`${cmd} ${args.join(' ')}: ${out.slice(-400)}`))));
  });
}

async function untilOk(what: string, probe: () => Promise<void>, ms = 60_000): Promise<void> {
  for (const deadline = Date.now() + ms; ; ) {
    try {
      return await probe();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(500);
    }
  }
}

/** The pids of a program, as pidof finds them. */
const pidsOf = (name: string) => (): number[] => {
  const r = spawnSync('pidof', [name], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
};

/** MariaDB, dzl's store: as .ci/run starts it. */
const MARIADB = {
  pids: pidsOf('mariadbd'),
  start: async () => {
    await run('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd']);
    await untilOk('MariaDB answers again', () => run('mysqladmin', ['-uroot', '-h127.0.0.1', 'ping']));
  },
};
/** PostgreSQL 15, Temporal's store: Debian's cluster 15/main. */
const POSTGRESQL = {
  pids: () => {
    const f = env('DZL_PG_PIDFILE', '/var/lib/postgresql/15/main/postmaster.pid');
    return existsSync(f) ? [Number(readFileSync(f, 'utf8').split('\n')[0])] : [];
  },
  start: async () => {
    await run('pg_ctlcluster', [env('DZL_PG_VERSION', '15'), env('DZL_PG_CLUSTER', 'main'), 'start']);
    await untilOk('PostgreSQL answers again', () => run('pg_isready', ['-h', '127.0.0.1', '-p', env('TEMPORAL_PG_PORT', '5432')]));
  },
};

const TEMPORAL = ['temporal-history', 'temporal-matching', 'temporal-frontend', 'temporal-worker'];
export const FAULTS: Fault[] = [
  { name: 'none', processes: [], signal: 'SIGKILL' },
  { name: 'worker-kill', processes: ['dzl-worker-1'], signal: 'SIGKILL' },
  { name: 'worker-stop', processes: ['dzl-worker-1'], signal: 'SIGTERM' },
  { name: 'router-kill', processes: ['dzl-router-1'], signal: 'SIGKILL' },
  { name: 'router-stop', processes: ['dzl-router-1'], signal: 'SIGTERM' },
  { name: 'channel-kill', processes: [`party-${DEV.channel}`], signal: 'SIGKILL' },
  { name: 'bank-kill', processes: [`party-${DEV.banks[1]}`], signal: 'SIGKILL' },
  { name: 'callback-receiver-kill', processes: [`party-${DEV.platform}`], signal: 'SIGKILL' },
  ...TEMPORAL.map((p) => ({ name: `${p}-kill`, processes: [p], signal: 'SIGKILL' as const })),
  { name: 'temporal-cluster-kill', processes: TEMPORAL, signal: 'SIGKILL' },
  { name: 'mariadb-kill', processes: [], signal: 'SIGKILL', service: MARIADB },
  { name: 'postgresql-kill', processes: [], signal: 'SIGKILL', service: POSTGRESQL },
];

interface Submitted {
  app: PreparedApplication;
  expected: string;
  submittedAt: number;
  acceptedAt?: number;
  refused?: string;
}

interface Tally {
  submitted: number;
  final: number;
  lost: number;
  duplicated: number;
  changed: number;
  /** Applications whose evidence bundle does not verify offline. */
  unverified: number;
  recoveredS: number | undefined;
  notes: string[];
}

function pidOf(runDir: string, name: string): number | undefined {
  const f = join(runDir, 'pids', `${name}.pid`);
  return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts whatever of the cluster is down (deploy/cluster.sh up is idempotent); the load goes on meanwhile. */
const restart = () => run(join(ROOT, 'deploy', 'cluster.sh'), ['up']);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the platform API's JSON
async function held(api: string, applicationId: string): Promise<any> {
  try {
    const r = await fetch(`${api}/applications/${encodeURIComponent(applicationId)}`, { signal: AbortSignal.timeout(5_000) });
    return ((await r.json()) as { held?: unknown }).held;
  } catch {
    return undefined;
  }
}

interface RunContext {
  apps: number;
  rate: number;
  runDir: string;
  routers: ReferencePlatform[];
  api: string;
  db: Db;
  temporal: Client;
  seed: number;
  log: LogConfig;
  trust: { caPem: string; routerVkey: string; origin: string };
}

async function runFault(fault: Fault, o: RunContext): Promise<Tally> {
  const notes: string[] = [];
  const apps: Submitted[] = [];
  for (let i = 0; i < o.apps; i++) {
    const c = syntheticCustomer(o.seed + i);
    const app = o.routers[0]!.prepare(c.fields, DEV.banks[1]);
    const expected = decide({ ...c.fields, ...scoreApplication(c.fields) }).outcome.status;
    apps.push({ app, expected, submittedAt: 0 });
  }
  let faultAt: number | undefined;
  let restarted = false;
  const faultAfter = Math.floor(o.apps / 3);
  const submitter = (async () => {
    for (const [i, s] of apps.entries()) {
      if (i === faultAfter && (fault.processes.length || fault.service)) {
        faultAt = Date.now();
        for (const p of fault.processes) {
          const pid = pidOf(o.runDir, p);
          if (pid) process.kill(pid, fault.signal);
        }
        const servicePids = fault.service?.pids() ?? [];
        if (fault.service && servicePids.length === 0) notes.push(`${fault.name}: no process to kill`);
        for (const pid of servicePids) process.kill(pid, fault.signal);
        // the component comes back while the load goes on, as an orchestrator would restart it —
        // a stopped one once it has exited (its drain is its own business)
        const stopped = [...fault.processes.map((p) => pidOf(o.runDir, p)), ...servicePids];
        void sleep(3_000)
          .then(async () => {
            for (let waited = 0; waited < 60_000 && stopped.some((pid) => pid && alive(pid)); waited += 200) await sleep(200);
            const lingering = stopped.filter((pid) => pid && alive(pid));
            if (lingering.length) notes.push(`${fault.processes.join(', ')} did not exit within 60 s of ${fault.signal}`);
          })
          .then(async () => {
            await fault.service?.start();
            await restart();
          })
          .then(() => void (restarted = true))
          .catch((err: unknown) => notes.push(String(err)));
      }
      s.submittedAt = Date.now();
      void submitWithRetry(s, o.routers, i);
      await sleep(1000 / o.rate);
    }
  })();
  await submitter;
  if (fault.processes.length || fault.service) while (!restarted && notes.length === 0) await sleep(200);
  // every application to its final outcome at the platform, or the deadline
  const outcomes = new Map<string, string>();
  let recoveredAt: number | undefined;
  const before = apps.slice(0, faultAfter);
  for (const deadline = Date.now() + 180_000; Date.now() < deadline; await sleep(500)) {
    for (const s of apps) {
      if (outcomes.has(s.app.applicationId) || s.acceptedAt === undefined) continue;
      const h = await held(o.api, s.app.applicationId);
      if (h?.outcome?.outcome) outcomes.set(s.app.applicationId, h.outcome.outcome as string);
    }
    if (recoveredAt === undefined && faultAt !== undefined && before.every((s) => outcomes.has(s.app.applicationId))) recoveredAt = Date.now();
    if (apps.every((s) => outcomes.has(s.app.applicationId) || s.refused)) break;
  }
  // the platform repeats each submission after its application ended: the same answer, no second run
  for (const [i, s] of apps.entries()) {
    if (!outcomes.has(s.app.applicationId)) continue;
    const r = await o.routers[i % o.routers.length]!.submit(s.app).catch(() => undefined);
    if (r && r.status !== 200) notes.push(`${s.app.applicationId}: a repeat after the end was answered ${r.status}`);
  }
  let duplicated = 0;
  let changed = 0;
  let unverified = 0;
  for (const s of apps) {
    const id = s.app.applicationId;
    const row = await getApplication(o.db, id);
    if (!row) continue;
    const hops = await hopsOfApplication(o.db, id);
    const count = (kind: string, key: (h: (typeof hops)[number]) => string) => {
      const seen = new Map<string, number>();
      for (const h of hops.filter((x) => x.header.kind === kind)) seen.set(key(h), (seen.get(key(h)) ?? 0) + 1);
      return Math.max(0, ...seen.values());
    };
    const runs = (await countRuns(o.temporal, row.workflowId)) ?? 1;
    const h = await held(o.api, id);
    const dup = runs > 1 || count('application', () => 'one') > 1 || count('credit_report', (x) => x.header.to) > 1 || count('decision', (x) => x.header.from) > 1 || (h?.decisionsOpened ?? 0) > 1;
    if (dup) {
      duplicated++;
      notes.push(`${id}: runs ${runs}, decisions opened ${h?.decisionsOpened ?? 0}`);
    }
    // its evidence verifies offline, as a regulator would check it
    try {
      const bundle = await applicationBundle(o.db, o.log, id);
      const report = verifyBundle({ bundle, caPem: o.trust.caPem, routerVkey: o.trust.routerVkey, origin: o.trust.origin });
      if (!report.ok) {
        unverified++;
        notes.push(`${id}: evidence does not verify (${report.failures[0] ?? '?'})`);
      }
    } catch (err) {
      unverified++;
      notes.push(`${id}: no evidence bundle (${err instanceof Error ? err.message.slice(0, 120) : 'error'})`);
    }
    const got = outcomes.get(id);
    if (got && got !== s.expected) {
      changed++;
      notes.push(`${id}: ${got}, expected ${s.expected}`);
    }
  }
  const final = apps.filter((s) => outcomes.has(s.app.applicationId)).length;
  for (const s of apps.filter((x) => x.refused)) notes.push(`${s.app.applicationId}: refused for good at intake (${s.refused})`);
  return {
    submitted: apps.length,
    final,
    lost: apps.length - final,
    duplicated,
    changed,
    unverified,
    recoveredS: faultAt === undefined ? 0 : recoveredAt === undefined ? undefined : (recoveredAt - faultAt) / 1000,
    notes,
  };

  async function submitWithRetry(s: Submitted, routers: ReferencePlatform[], i: number): Promise<void> {
    // the platform's retry: the same key and bytes, to the next router, until one answers
    for (let attempt = 0; Date.now() - s.submittedAt < 240_000; attempt++) {
      try {
        const r = await routers[(i + attempt) % routers.length]!.submit(s.app);
        if (r.status === 200 || r.status === 202) {
          s.acceptedAt = Date.now();
          return;
        }
        if (r.status < 500 && r.status !== 429) {
          s.refused = String(r.body?.error?.code ?? r.status);
          return;
        }
      } catch {
        // connection refused or reset: the router is down
      }
      await sleep(Math.min(2_000, 200 * 2 ** Math.min(attempt, 4)));
    }
    s.refused = 'no router answered within 4 minutes';
  }
}

async function countRuns(temporal: Client, workflowId: string): Promise<number | undefined> {
  try {
    let n = 0;
    for await (const _ of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
    return n;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const only = arg('--only')?.split(',');
  const apps = Number(arg('--apps') ?? env('DZL_FAULT_APPS', '30'));
  const rate = Number(arg('--rate') ?? env('DZL_FAULT_RATE', '4'));
  const opts = clusterPartiesFromEnv();
  const runDir = resolve(opts.runDir);
  const plan = clusterPartyPlan(opts);
  const api = plan.find((p) => p.id === DEV.platform)!.api!;
  const directory = loadDirectory(opts.networkDir);
  const identity = loadPartyIdentity(opts.networkDir, DEV.platform);
  const routers = opts.routerUrls.map((routerUrl) => {
    const p = new ReferencePlatform({ identity, directory: () => directory, routerUrl, channelId: DEV.channel });
    // decisions go to the platform process's callback receiver, at its registered origin
    p.callbackUrl = `http://127.0.0.1:${opts.portBase + 10}/dzl/callback`;
    return p;
  });
  const db = await openDb(opts.dbUrl, { migrate: false });
  const network = readNetworkFile(opts.networkDir);
  const log: LogConfig = { origin: network.log!.origin, signer: loadCheckpointSigner(opts.networkDir) };
  const trust = { caPem: network.caPem, routerVkey: network.log!.routerVkey, origin: network.log!.origin };
  const tls = temporalTlsConfig(temporalTlsFromEnv());
  const connection = await Connection.connect({ address: env('TEMPORAL_FRONTEND_ADDRESS', '127.0.0.1:17233'), ...(tls ? { tls } : {}) });
  const temporal = new Client({ connection, namespace: env('TEMPORAL_NAMESPACE', 'default') });
  const faults = FAULTS.filter((f) => !only || only.includes(f.name));
  say(`dzl fault matrix — ${faults.length} faults, ${apps} applications each at ${rate}/s, routers ${opts.routerUrls.join(' ')}, platform ${api}`);
  let failed = false;
  let seed = Date.now() % 100_000;
  try {
    for (const f of faults) {
      const t = await runFault(f, { apps, rate, runDir, routers, api, db, temporal, seed, log, trust });
      seed += apps;
      const bad = t.lost + t.duplicated + t.changed + t.unverified > 0;
      failed ||= bad;
      say(`${f.name}: submitted ${t.submitted}, final ${t.final}, lost ${t.lost}, duplicated ${t.duplicated}, changed ${t.changed}, evidence unverified ${t.unverified}, recovered in ${t.recoveredS === undefined ? 'never' : `${t.recoveredS.toFixed(1)} s`}`);
      for (const n of t.notes.slice(0, 5)) say(`  ${n}`);
    }
  } finally {
    await connection.close();
    await db.destroy();
  }
  say(failed ? 'fault matrix: FAIL' : 'fault matrix: PASS — nothing lost, nothing duplicated, no outcome changed');
  process.exit(failed ? 1 : 0);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`faults: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
