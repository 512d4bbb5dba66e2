/**
 * `make cluster-smoke`: proves the running cluster (make cluster-up) works end to end. The
 * reference parties run as processes of their own (deploy/bin/parties.ts, started by
 * deploy/cluster.sh); three data-channel applications go platform → router → Temporal cluster →
 * worker → channel → bank → callback, through both routers (one platform process on each): a
 * synchronous approval, an asynchronous decision the bank submits to the router's published gRPC
 * endpoint, and a funding cascade. Then Temporal's PostgreSQL, dzl's MariaDB, the parties' stores
 * and the cluster's logs are scanned for the customers' names, ID numbers and mobiles, and every
 * payload in the applications' histories must be encrypted. Exits non-zero on any failure.
 */
import { Connection, Client } from '@temporalio/client';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanForPlaintext } from '../../services/demo/scan';
import { hopsOfApplication } from '../../services/ledger/ledger';
import { SAMPLE_CUSTOMERS, sensitiveValues, type SampleCustomer } from '../../services/parties/samples';
import type { ReceivedDecision } from '../../services/parties/platform';
import { DEV } from '../../services/runtime/localNetwork';
import { getApplication } from '../../services/store/applications';
import { openDb } from '../../services/store/db';
import { ENCODING } from '../../services/temporal/codec';
import { temporalTlsConfig, temporalTlsFromEnv } from '../../services/runtime/stack';
import { callPlatformApi } from '../../services/demo/processNetwork';
import { CLUSTER_PLATFORMS, clusterPartiesFromEnv, clusterPartyPlan } from './parties';

const env = (name: string, fallback: string) => process.env[name] || fallback;
const say = (s: string) => process.stdout.write(`${s}\n`);

interface Case {
  label: string;
  customer: SampleCustomer;
  /** The platform process's own API (contracts/parties.md §3). */
  api: string;
  routerUrl: string;
  body: unknown;
  expect: string;
}

const platformApi = callPlatformApi;

async function main(): Promise<void> {
  const started = Date.now();
  const opts = clusterPartiesFromEnv();
  const temporalAddress = env('TEMPORAL_FRONTEND_ADDRESS', '127.0.0.1:17233');
  const namespace = env('TEMPORAL_NAMESPACE', 'default');
  say(`dzl cluster smoke — routers ${opts.routerUrls.join(' ')}, Temporal ${temporalAddress} (${namespace}), store ${opts.dbUrl.replace(/\/\/[^@/]*@/, '//')}`);
  const plan = clusterPartyPlan(opts);
  const apis = CLUSTER_PLATFORMS.map((id) => plan.find((p) => p.id === id)!.api!);
  say(`  the reference parties are processes of their own (make cluster-status); the platforms' APIs ${apis.join(' ')}`);
  const db = await openDb(opts.dbUrl, { migrate: false });
  const [c0, c1, , c3] = SAMPLE_CUSTOMERS as [SampleCustomer, SampleCustomer, SampleCustomer, SampleCustomer];
  const second = opts.routerUrls.length > 1 ? 1 : 0;
  const cases: Case[] = [
    { label: `${DEV.banks[0]}, decided at delivery`, customer: c0, api: apis[0]!, routerUrl: opts.routerUrls[0]!, body: { fields: c0.fields, route: { bank: DEV.banks[0] } }, expect: 'approved' },
    { label: `${DEV.banks[2]}, decided later through the router's gRPC`, customer: c1, api: apis[second]!, routerUrl: opts.routerUrls[second]!, body: { fields: c1.fields, route: { bank: DEV.banks[2] } }, expect: 'declined' },
    {
      label: `funding cascade ${DEV.banks[0]} → ${DEV.banks[1]}`,
      customer: c3,
      api: apis[0]!,
      routerUrl: opts.routerUrls[0]!,
      body: { fields: c3.fields, route: { attributes: { amount: Number(c3.fields['loan.amount']), termMonths: Number(c3.fields['loan.termMonths']), region: 'GD' } }, banks: [DEV.banks[0], DEV.banks[1]] },
      expect: 'approved',
    },
  ];

  const tls = temporalTlsConfig(temporalTlsFromEnv());
  const connection = await Connection.connect({ address: temporalAddress, ...(tls ? { tls } : {}) });
  // no codec here: the histories as the Temporal server stores them
  const raw = new Client({ connection, namespace });
  const failures: string[] = [];
  const workflowIds: string[] = [];
  const encodings = new Map<string, number>();
  try {
    const submitted = [];
    for (const c of cases) {
      const t0 = Date.now();
      const res = await platformApi(c.api, 'POST', '/applications', c.body);
      if (res.status !== 202) throw new Error(`${c.label}: submission refused ${res.status} ${res.body?.router?.error?.code ?? res.body?.error?.code}`);
      submitted.push({ c, applicationId: res.body.applicationId as string, t0 });
    }
    for (const { c, applicationId, t0 } of submitted) {
      let held: { outcome?: { outcome: string }; decision?: ReceivedDecision } = {};
      let route: { bank: string; outcome?: string; reasonCode?: string }[] = [];
      let state = '';
      for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
        const r = await platformApi(c.api, 'GET', `/applications/${encodeURIComponent(applicationId)}`);
        held = r.body.held ?? {};
        route = r.body.router?.route ?? [];
        state = r.body.router?.state ?? '';
        if (held.outcome && (held.decision || held.outcome.outcome === 'refused')) break;
      }
      const decision = held.decision;
      const ms = Date.now() - t0;
      const hops = await hopsOfApplication(db, applicationId);
      const workflowId = (await getApplication(db, applicationId))?.workflowId ?? '';
      workflowIds.push(workflowId);
      const history = await raw.workflow.getHandle(workflowId).fetchHistory();
      const workers = new Set<string>();
      for (const e of history.events ?? []) {
        const identity = e.workflowTaskCompletedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
        if (identity) workers.add(identity);
      }
      collectEncodings(history, encodings);
      const f = decision?.fields ?? {};
      say(`■ ${applicationId}  (${c.customer.label}; ${c.label})`);
      say(`  submitted to ${c.routerUrl} by the platform process at ${c.api}; workflow ${workflowId} on the cluster, its tasks run by worker ${[...workers].join(', ')}`);
      say(`  route: ${hops.map((h) => `${h.header.from} →[${h.header.kind}]→ ${h.header.to}`).join('  ·  ')}`);
      if (route.length > 1) say(`  funding cascade: ${route.map((r) => `${r.bank} ${r.outcome ?? '—'}${r.reasonCode ? ` (${r.reasonCode})` : ''}`).join(' → ')}`);
      const shown =
        decision?.outcome.status === 'approved'
          ? `APPROVED  limit ¥${(Number(f['decision.limit']) / 100).toLocaleString('en')}  APR ${(Number(f['decision.aprBasisPoints']) / 100).toFixed(2)}%  ${f['decision.termMonths']} months`
          : decision
            ? `DECLINED  ${decision.outcome.reasonCode}`
            : `no decision opened (state ${state})`;
      say(`  callback: the platform process opened the decision — ${shown}  (${ms} ms from submission)`);
      if (decision?.outcome.status !== c.expect) failures.push(`${applicationId}: expected ${c.expect}, got ${decision?.outcome.status ?? state}`);
    }
  } finally {
    await db.destroy();
  }

  // --- what the stores hold ------------------------------------------------------------------
  const scanDir = join(opts.runDir, 'scan');
  rmSync(scanDir, { recursive: true, force: true });
  mkdirSync(scanDir, { recursive: true });
  const pg = { host: env('TEMPORAL_PG_HOST', '127.0.0.1'), port: env('TEMPORAL_PG_PORT', '5432'), user: env('TEMPORAL_PG_USER', 'temporal'), password: env('TEMPORAL_PG_PASSWORD', 'temporal') };
  let pgBytes = 0;
  let pgTables = 0;
  for (const db of [env('TEMPORAL_DB', 'temporal'), env('TEMPORAL_VISIBILITY_DB', 'temporal_visibility')]) {
    for (const table of psql(pg, db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").toString().split('\n').filter(Boolean)) {
      // binary COPY: bytea columns (the histories, the mutable state) as their raw bytes — a text
      // dump would show them as hex and hide any plaintext they held
      const data = psql(pg, db, `COPY public."${table}" TO STDOUT (FORMAT binary)`);
      writeFileSync(join(scanDir, `${db}.${table}.bin`), data);
      pgBytes += data.length;
      pgTables++;
    }
  }
  const pgScan = scanForPlaintext([scanDir], sensitiveValues(cases.map((c) => c.customer)));
  const control = scanForPlaintext([scanDir], workflowIds);
  // the activity type the SDK writes in the clear inside each local-activity marker: found in the
  // history blobs, it shows they are read as raw bytes, not compressed or hex
  const blobControl = scanForPlaintext([join(scanDir, `${env('TEMPORAL_DB', 'temporal')}.history_node.bin`)], ['deliverToChannel']);
  const dzlDump = join(opts.runDir, 'scan-dzl', 'dzl.sql');
  mkdirSync(join(opts.runDir, 'scan-dzl'), { recursive: true });
  writeFileSync(dzlDump, mysqldump(opts.dbUrl));
  const otherScan = scanForPlaintext([dzlDump, join(opts.runDir, 'logs'), join(opts.runDir, 'party-data')], sensitiveValues(cases.map((c) => c.customer)));

  say(`plaintext scan of Temporal's PostgreSQL (${pgTables} tables of both databases, ${(pgBytes / 1048576).toFixed(1)} MiB as binary COPY, bytea as raw bytes):`);
  say(`  ${pgScan.hits.length === 0 ? 'no customer name, ID number or mobile found' : `FOUND ${pgScan.hits.map((h) => `${h.value} in ${h.file}`).join(', ')}`}`);
  const foundIds = new Set(control.hits.map((h) => h.value));
  say(`  control: the same dump shows ${foundIds.size} of the ${workflowIds.length} workflow ids (ids, in the clear by design), and the history blobs (history_node) ${blobControl.hits.length ? 'show' : 'do NOT show'} the activity type the SDK writes in the clear: the scan reads the histories' bytes`);
  const total = [...encodings.values()].reduce((a, b) => a + b, 0);
  say(`  payloads in the ${workflowIds.length} histories as the server returns them: ${total}, ${[...encodings].map(([e, n]) => `${n} ${e}`).join(', ')}`);
  say(`plaintext scan of dzl's MariaDB (mysqldump), the parties' encrypted stores and the cluster's logs (${otherScan.files} files, ${(otherScan.bytes / 1048576).toFixed(1)} MiB): ${otherScan.hits.length === 0 ? 'none found' : `FOUND ${otherScan.hits.map((h) => `${h.value} in ${h.file}`).join(', ')}`}`);
  if (pgScan.hits.length) failures.push('plaintext personal data in Temporal\'s PostgreSQL');
  if (otherScan.hits.length) failures.push('plaintext personal data in the store, the parties\' stores or the logs');
  if (!blobControl.hits.length) failures.push('control failed: the history blobs do not show the SDK\'s plain marker metadata, so the scan cannot see into them');
  if (foundIds.size !== workflowIds.length) failures.push('control failed: the PostgreSQL dump does not show the workflow ids, so it does not show the histories');
  if (!encodings.get(ENCODING) || [...encodings.keys()].some((e) => e !== ENCODING && e !== LOCAL_ACTIVITY_METADATA)) failures.push(`payloads in the clear besides the SDK's local-activity metadata`);
  await connection.close();
  if (failures.length) {
    say(`smoke: FAIL\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
  say(`smoke: PASS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(0);
}

/**
 * Every payload's encoding in a history (protobuf objects: metadata.encoding is bytes). One kind
 * of plain payload is expected: the SDK's core writes each local activity's marker metadata
 * (sequence number, attempt, activity type, times) itself, outside the codec; its result is
 * encrypted. Anything else in the clear is counted as such.
 */
function collectEncodings(history: { events?: unknown[] | null }, into: Map<string, number>): void {
  for (const event of history.events ?? []) {
    const marker = (event as { markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: { metadata?: Record<string, Uint8Array>; data?: Uint8Array }[] }> } }).markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      for (const p of marker.details?.data?.payloads ?? []) {
        const plain = Buffer.from(p.metadata?.encoding ?? []).toString() === 'json/plain';
        const keys = plain ? Object.keys(JSON.parse(Buffer.from(p.data ?? []).toString()) as object) : [];
        const onlyMeta = plain && keys.every((k) => LOCAL_ACTIVITY_MARKER_KEYS.has(k));
        const kind = onlyMeta ? LOCAL_ACTIVITY_METADATA : `${Buffer.from(p.metadata?.encoding ?? []).toString()} in a local activity marker (${keys.join(',')})`;
        into.set(kind, (into.get(kind) ?? 0) + 1);
      }
      const { data: _metadata, ...rest } = marker.details ?? {};
      walkPayloads(rest, into);
    } else walkPayloads(event, into);
  }
}

const LOCAL_ACTIVITY_METADATA = 'local-activity marker metadata (ids, times)';
const LOCAL_ACTIVITY_MARKER_KEYS = new Set(['seq', 'attempt', 'activity_id', 'activity_type', 'complete_time', 'backoff', 'original_schedule_time']);

function walkPayloads(node: unknown, into: Map<string, number>): void {
  if (!node || typeof node !== 'object' || ArrayBuffer.isView(node)) return;
  if (Array.isArray(node)) {
    for (const n of node) walkPayloads(n, into);
    return;
  }
  const o = node as Record<string, unknown>;
  const md = o.metadata as Record<string, Uint8Array> | undefined;
  if (md && typeof md === 'object' && md.encoding && 'data' in o) {
    const e = Buffer.from(md.encoding).toString();
    into.set(e, (into.get(e) ?? 0) + 1);
    return;
  }
  for (const v of Object.values(o)) walkPayloads(v, into);
}

function psql(pg: { host: string; port: string; user: string; password: string }, db: string, sql: string): Buffer {
  const r = spawnSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', pg.host, '-p', pg.port, '-U', pg.user, '-d', db, '-c', sql], {
    env: { ...process.env, PGPASSWORD: pg.password },
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`psql ${db}: ${r.stderr.toString().trim() || r.error?.message}`);
  return r.stdout;
}

function mysqldump(url: string): Buffer {
  const u = new URL(url);
  const r = spawnSync('mysqldump', ['-h', u.hostname, '-P', u.port || '3306', '-u', decodeURIComponent(u.username), '--skip-extended-insert', u.pathname.slice(1)], {
    env: { ...process.env, MYSQL_PWD: decodeURIComponent(u.password) },
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`mysqldump: ${r.stderr.toString().trim() || r.error?.message}`);
  return r.stdout;
}

main().catch((err: unknown) => {
  process.stderr.write(`smoke: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
