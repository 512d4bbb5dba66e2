#!/usr/bin/env node
/**
 * dzl — operator commands. commander parses the arguments; each command only wires modules.
 *   dzl network init --dir D          a development network: CA, every party's keys and certificates
 *   dzl network register --dir D      register the network's parties and certificates in the store
 *   dzl router | dzl worker           run the router (HTTP API) or a worker, as separate processes
 *   dzl who-saw-what <applicationId>  the party × field matrix of one application, from the ledger
 *   dzl verify <bundle>               verify an evidence bundle offline (services/cli/verifyCommand.ts)
 *   dzl regulator-link                a signed, one-hour link to the regulator's page
 *   dzl revoke-certificate <keyId>    revoke a party certificate from now
 *   dzl party init|install|directory  a joining party's own keys, its certificates, the signed directory
 *   dzl operator admit <request>      issue a party's certificates from its requests and register it
 *   dzl operator update|funding|revoke a party's endpoints and terms, a platform's funding list, a revocation
 *   dzl channel|bank|platform         a reference party as its own process (contracts/parties.md)
 */
import Table from 'cli-table3';
import { Command } from 'commander';
import { Keyring } from '../atrest/keyring';
import { Vault } from '../atrest/vault';
import { msToNumber, type Duration } from '@temporalio/common';
import { hopsOfApplication, whoSawWhat } from '../ledger/ledger';
import { createDevNetwork, DEV_PARTIES, loadNetworkCas, loadPartyIdentity, readNetworkFile, rotatePayloadKey } from '../network/folder';
import { regulatorLinkToken } from '../router/regulatorPage';
import { registerVerifyCommand } from './verifyCommand';
import { parseCertificate } from '../pki/certificate';
import { prebuiltWorkflowBundle, startRouter, startWorker, temporalTlsFromEnv } from '../runtime/stack';
import { startTracing } from '../common/tracing';
import { getApplication } from '../store/applications';
import { openDb } from '../store/db';
import { admitParty, checkTermsForRole, registerNetwork, revokeCertificate, setBankTerms, setPartyEndpoint } from '../operator/registry';
import { setFundingRules } from '../store/fundingRoutes';
import type { FundingRule } from '../routing/funding';
import { runParty } from '../runtime/partyProcess';
import { admitRequest, initParty, installAdmission, loadOwnIdentity, type PartyRequest } from '../network/onboarding';
import { fetchDirectory, verifyPublishedDirectory } from '../registry/published';
import type { PartyRole } from '../domain/parties';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { callOperatorApi } from '../operator/requestAuth';
import type { Db } from '../store/db';
import { join } from 'node:path';

interface AdmitCliOptions {
  out: string;
  db: string;
  dir: string;
  grpc?: string;
  web?: string;
  callbackOrigin?: string[];
  contractedChannel?: string;
  decisionTimeoutMs?: number;
  licence?: string;
  licenceIssuer: string;
  licenceValidUntil?: string;
  tlsName: string[];
  tlsIp: string[];
  validDays: number;
  renew: boolean;
}

const program = new Command('dzl').description('断直连 routing middleware');
const defaults = {
  db: process.env.DZL_DB_URL ?? 'sqlite://.dzl/dzl.db',
  network: process.env.DZL_NETWORK_DIR ?? '.dzl/network',
  temporal: process.env.DZL_TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
};

const network = program.command('network').description('the network of parties, keys and certificates');
network
  .command('init')
  .option('--dir <dir>', 'where to write the network', defaults.network)
  // the open network: the operator's CA and the router's keys only; every other party joins by onboarding
  .option('--operator-only', "only the network CA and the router's keys (parties join with dzl party init and dzl operator admit)", false)
  // the national suite (envelope.md §22): an SM2 CA beside the RSA one; these parties' hop keys are SM2
  .option('--sm-ca', 'an SM2 network CA beside the RSA one, so that parties of the SM suite can be admitted', false)
  .option('--sm-parties <ids>', 'parties of the SM suite (SM2-SM3 signatures, SM2 key wrap, SM4-GCM), comma-separated; implies --sm-ca', '')
  .action((o: { dir: string; operatorOnly: boolean; smCa: boolean; smParties: string }) => {
    const sm = new Set(o.smParties.split(',').filter(Boolean));
    const unknown = [...sm].filter((id) => !DEV_PARTIES.some((p) => p.id === id && p.role !== 'router'));
    if (unknown.length) throw new Error(`--sm-parties names no party of the development network: ${unknown.join(', ')}`);
    const specs = (o.operatorOnly ? DEV_PARTIES.filter((p) => p.role === 'router') : DEV_PARTIES).map((p) => (sm.has(p.id) ? { ...p, suite: 'SM' as const } : p));
    const file = createDevNetwork(o.dir, specs, 'dzl-dev', { smCa: o.smCa || sm.size > 0 });
    const t = new Table({ head: ['party', 'role', 'legal name', 'certificates (key ids)'], style: { head: [] } });
    for (const p of file.parties) t.push([p.id, p.role, p.legalName, p.certificates.map((pem) => { const c = parseCertificate(pem, file.caPem); return `${c.usage} ${c.keyId.slice(0, 16)}…`; }).join('\n')]);
    process.stdout.write(`network ${file.network} written to ${o.dir}\n${t.toString()}\n`);
  });
network
  .command('register')
  .option('--dir <dir>', 'the network folder', defaults.network)
  .option('--db <url>', 'store URL (sqlite://… or mysql://…)', defaults.db)
  .action(async (o: { dir: string; db: string }) => {
    const db = await openDb(o.db);
    await registerNetwork(db, readNetworkFile(o.dir));
    await db.destroy();
    process.stdout.write(`registered ${readNetworkFile(o.dir).parties.length} parties in ${o.db.split('@').pop()}\n`);
  });

interface ProcessOptions { temporalMetrics?: string; db: string; network: string; temporal: string; retainApproved: string; retainOther: string; allowPrivateCallbacks: boolean; host: string; port: string; grpcAddress?: string; advertiseGrpc?: string; advertiseUrl?: string; opsHost: string; opsPort: string }

for (const [name, describe] of [['router', 'run the router: HTTP API for platforms and regulators, gRPC for banks and regulators'], ['worker', 'run a worker: activities and workflows']] as const) {
  const command = program
    .command(name)
    .description(describe)
    .option('--db <url>', 'store URL', defaults.db)
    .option('--network <dir>', 'network folder (CA and the router’s own keys)', defaults.network)
    .option('--temporal <address>', 'Temporal frontend', defaults.temporal)
    // Temporal's own duration syntax (via @temporalio/common): '30d', '12h', '90s' or milliseconds
    .option('--retain-approved <duration>', 'how long sealed payloads stay after a loan is granted', process.env.DZL_RETAIN_APPROVED ?? '30d')
    .option('--retain-other <duration>', 'how long they stay after any other outcome (declined, withdrawn, …)', process.env.DZL_RETAIN_OTHER ?? '7d')
    // a development network on one machine calls back on loopback; production never needs to
    .option('--allow-private-callbacks', 'let callbacks go to loopback, private and link-local addresses (development only)', process.env.DZL_ALLOW_PRIVATE_CALLBACKS === '1')
    // healthz, readyz, metrics: for the orchestrator and Prometheus, never the public interface
    .option('--ops-host <host>', 'operations endpoint listen address', process.env.DZL_OPS_HOST ?? '127.0.0.1')
    .option('--ops-port <port>', 'operations endpoint port (0: a free one, printed)', process.env.DZL_OPS_PORT ?? '0');
  if (name === 'worker') {
    // the Temporal SDK's own metrics (task slots, poll latency, sticky cache): a second scrape target
    command.option('--temporal-metrics <host:port>', "serve the Temporal SDK's own Prometheus metrics here (temporal_*)", process.env.DZL_TEMPORAL_METRICS);
  }
  if (name === 'router') {
    command
      .option('--host <host>', 'HTTP listen address (0.0.0.0 behind a load balancer)', process.env.DZL_HTTP_HOST ?? '127.0.0.1')
      .option('--port <port>', 'HTTP port', process.env.DZL_HTTP_PORT ?? '8080')
      .option('--grpc-address <host:port>', 'gRPC listen address for banks and regulators (default: loopback, a free port)', process.env.DZL_GRPC_ADDRESS)
      .option('--advertise-grpc <target>', 'the gRPC target published in the registry for banks (a load balancer, or ipv4:h1:p1,h2:p2); default --grpc-address', process.env.DZL_GRPC_ADVERTISE)
      .option('--advertise-url <url>', 'the HTTP base URL published with it (a load balancer); default this router’s own', process.env.DZL_HTTP_ADVERTISE);
  }
  command.action(async (o: ProcessOptions) => {
    const retention = { approvedMs: msToNumber(o.retainApproved as Duration), otherMs: msToNumber(o.retainOther as Duration) };
    if (!(retention.otherMs <= retention.approvedMs)) throw new Error('--retain-other must not exceed --retain-approved: a declined application is kept no longer than a loan');
    const temporalTls = temporalTlsFromEnv();
    const cfg = { dbUrl: o.db, networkDir: o.network, temporalAddress: o.temporal, retention, outbound: { allowPrivateNetworks: o.allowPrivateCallbacks }, ...(temporalTls ? { temporalTls } : {}) };
    let running: { close(): Promise<void> };
    if (name === 'router') {
      const router = await startRouter(cfg, { host: o.host, port: Number(o.port), opsHost: o.opsHost, opsPort: Number(o.opsPort), ...(o.grpcAddress ? { grpcAddress: o.grpcAddress } : {}), ...(o.advertiseGrpc ? { advertiseGrpc: o.advertiseGrpc } : {}), ...(o.advertiseUrl ? { advertiseUrl: o.advertiseUrl } : {}) });
      process.stderr.write(`dzl router running at ${router.url}, gRPC ${router.grpcAddress}, ops ${router.opsUrl}\n`);
      running = router;
    } else {
      // bundled once at `make build`; bundling here instead costs seconds before the worker polls
      // with tracing on (OTEL_EXPORTER_OTLP_ENDPOINT), the bundle with the OpenTelemetry workflow interceptors
      const bundle = prebuiltWorkflowBundle(startTracing('dzl-worker') !== undefined);
      if ('unusable' in bundle) process.stderr.write(`dzl worker: ${bundle.unusable}; bundling the workflows now\n`);
      const worker = await startWorker(cfg, { opsHost: o.opsHost, opsPort: Number(o.opsPort), ...(o.temporalMetrics ? { temporalMetrics: o.temporalMetrics } : {}), ...('codePath' in bundle ? { bundle } : {}) });
      running = worker;
      process.stderr.write(`dzl worker running${'codePath' in bundle ? ` (workflows from ${bundle.codePath})` : ''}, ops ${worker.opsUrl}${o.temporalMetrics ? `, Temporal SDK metrics http://${o.temporalMetrics}/metrics` : ''}\n`);
    }
    const stop = () => void running.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

program
  .command('who-saw-what <applicationId>')
  .description('which party saw which field of an application (from the evidence ledger)')
  .option('--db <url>', 'store URL', defaults.db)
  .action(async (applicationId: string, o: { db: string }) => {
    const db = await openDb(o.db, { migrate: false });
    try {
      const app = await getApplication(db, applicationId);
      if (!app) throw new Error(`no application ${applicationId}`);
      const parties = [app.platformId, app.channelId, app.bankId, 'router'];
      const m = whoSawWhat(await hopsOfApplication(db, applicationId), parties);
      const t = new Table({ head: ['field', 'class', ...parties], style: { head: [] } });
      for (const r of m.fields) t.push([r.field, r.class, ...parties.map((p) => (r.seenBy.includes(p) ? 'saw' : '—'))]);
      process.stdout.write(t.toString() + '\n');
    } finally {
      await db.destroy();
    }
  });

program
  .command('revoke-certificate <keyId>')
  .description('revoke a party certificate from now: what it signed before stays verifiable; a registry snapshot is logged')
  .option('--db <url>', 'store URL', defaults.db)
  .action(async (keyId: string, o: { db: string }) => {
    const db = await openDb(o.db);
    try {
      if (!(await revokeCertificate(db, keyId))) throw new Error(`no certificate ${keyId} that is not already revoked`);
      process.stdout.write(`revoked ${keyId}; routers and workers pick it up within 5 s\n`);
    } finally {
      await db.destroy();
    }
  });

// Onboarding (deploy/JOINING.md): a party's own keys and requests; the operator's review; the install.
const party = program.command('party').description("a joining party's own folder: keys, requests, certificates, the directory");
party
  .command('init')
  .description('make this party\'s keys and certificate requests in its own folder (private keys never leave it); send request.json to the operator')
  .requiredOption('--dir <dir>', "the party's folder")
  .requiredOption('--id <id>', 'party id (lowercase letters, digits, hyphens)')
  .requiredOption('--role <role>', 'platform | channel | bank | regulator')
  .requiredOption('--legal-name <name>', 'legal name, as on the licence or charter')
  .option('--suite <suite>', 'RSA, or SM (SM2/SM3/SM4: its sig and enc keys SM2; its tls key stays RSA)', 'RSA')
  .action((o: { dir: string; id: string; role: string; legalName: string; suite: string }) => {
    if (o.suite !== 'RSA' && o.suite !== 'SM') throw new Error('--suite is RSA or SM');
    initParty(o.dir, { id: o.id, role: o.role as PartyRole, legalName: o.legalName }, o.suite);
    process.stdout.write(`keys and requests in ${o.dir}; send ${o.dir}/request.json to the network operator\n`);
  });
party
  .command('install <admission>')
  .description('install the certificates the operator issued, after checking each is for this folder\'s own key')
  .requiredOption('--dir <dir>', "the party's folder")
  .action((file: string, o: { dir: string }) => {
    installAdmission(o.dir, JSON.parse(readFileSync(file, 'utf8')));
    process.stdout.write(`certificates installed in ${o.dir}\n`);
  });
party
  .command('directory')
  .description('fetch the signed directory from the router, verify it against ca.crt and print it (or keep it with --out)')
  .requiredOption('--dir <dir>', "the party's folder")
  .requiredOption('--router <url>', "the router's HTTP API")
  .option('--out <file>', 'where to keep the verified document')
  .action(async (o: { dir: string; router: string; out?: string }) => {
    const me = loadOwnIdentity(o.dir);
    const previous = o.out && existsSync(o.out) ? verifyPublishedDirectory(JSON.parse(readFileSync(o.out, 'utf8')), me.caPem).body : undefined;
    const doc = await fetchDirectory(o.router, me.signing);
    const { body } = verifyPublishedDirectory(doc, me.caPem, previous);
    if (o.out) writeFileSync(o.out, JSON.stringify(doc));
    const t = new Table({ head: ['party', 'role', 'legal name', 'certificates', 'revoked'] });
    for (const p of body.parties) t.push([p.id, p.role, p.legalName, p.certificates.length, Object.keys(p.revoked ?? {}).length]);
    process.stdout.write(`directory version ${body.version}, issued ${body.issuedAt}, verified\n${t.toString()}\n`);
  });

const operator = program.command('operator').description("the network operator's review and registration of parties: through the operator API (--api) or on the store (--db)");

interface OperatorTarget { db: string; api?: string; operatorId?: string; operatorKey?: string }

/** Where an operator command takes effect: the operator API, signed with the operator's own key, or the store it is run beside. */
function withOperatorTarget(c: Command): Command {
  return c
    .option('--db <url>', 'store URL (without --api: the command writes the store itself)', defaults.db)
    .option('--api <url>', "the router's HTTP API: the change goes through the authenticated operator API", process.env.DZL_OPERATOR_API)
    .option('--operator-id <id>', 'the operator signing the call (listed in the network’s operators/operators.json)', process.env.DZL_OPERATOR_ID)
    .option('--operator-key <file>', "the operator's Ed25519 private key (PEM)", process.env.DZL_OPERATOR_KEY);
}

/** A party's endpoints and a bank's terms, from the options that name them (the operator API's member names). */
function termsOf(o: { grpc?: string; web?: string; callbackOrigin?: string[]; contractedChannel?: string; decisionTimeoutMs?: number }) {
  return {
    ...(o.grpc ? { grpcEndpoint: o.grpc } : {}),
    ...(o.web ? { webUrl: o.web } : {}),
    ...(o.callbackOrigin ? { callbackOrigins: o.callbackOrigin } : {}),
    ...(o.contractedChannel ? { contractedChannel: o.contractedChannel } : {}),
    ...(o.decisionTimeoutMs !== undefined ? { decisionTimeoutMs: o.decisionTimeoutMs } : {}),
  };
}

/** Runs a change through the operator API when --api is given, else on the store. */
async function operatorChange(o: OperatorTarget, viaApi: { method: string; path: string; body?: unknown }, onStore: (db: Db) => Promise<void>): Promise<void> {
  if (o.api) {
    if (!o.operatorId || !o.operatorKey) throw new Error('--api needs --operator-id and --operator-key (or DZL_OPERATOR_ID, DZL_OPERATOR_KEY)');
    await callOperatorApi(o.api, o.operatorId, createPrivateKey(readFileSync(o.operatorKey, 'utf8')), viaApi.method, viaApi.path, viaApi.body);
    return;
  }
  const db = await openDb(o.db);
  try {
    await onStore(db);
  } finally {
    await db.destroy();
  }
}

withOperatorTarget(
  operator
    .command('admit <request>')
    .description('issue certificates from a party\'s request.json with the network CA and register it (one party evidence leaf); writes the admission to send back')
    .requiredOption('--out <file>', 'the admission file for the party')
    .option('--dir <dir>', 'network folder (its ca/ holds the CA)', defaults.network)
    .option('--grpc <host:port>', "a channel's or bank's gRPC endpoint")
    .option('--web <url>', "a bank's application page (direct redirect)")
    .option('--callback-origin <origin...>', "a platform's callback origins")
    .option('--contracted-channel <id>', "a bank's contracted licensed channel")
    .option('--decision-timeout-ms <ms>', "a bank's decision timeout", (v) => Number(v))
    .option('--licence <number>', "a channel's credit-reporting licence number")
    .option('--licence-issuer <issuer>', 'who issued the licence', 'PBOC')
    .option('--licence-valid-until <rfc3339>', 'until when the licence is valid')
    .option('--tls-name <name...>', 'DNS names for the TLS certificate', ['localhost'])
    .option('--tls-ip <ip...>', 'IP addresses for the TLS certificate', ['127.0.0.1'])
    .option('--valid-days <n>', 'certificate validity', (v) => Number(v), 365)
    .option('--renew', 'the party is registered already: this is its renewal (new certificates, same role)', false),
).action(async (file: string, o: AdmitCliOptions & OperatorTarget) => {
  const request = JSON.parse(readFileSync(file, 'utf8')) as PartyRequest;
  // the RSA CA, and the SM2 CA when the network has one: each CSR goes to the CA of its suite
  const cas = loadNetworkCas(o.dir);
  const admission = admitRequest(cas, request, { validDays: o.validDays, dnsNames: o.tlsName, ipAddresses: o.tlsIp });
  const now = new Date().toISOString();
  const terms = {
    ...termsOf(o),
    ...(o.licence ? { licence: { number: o.licence, issuer: o.licenceIssuer, validFrom: now, validUntil: o.licenceValidUntil ?? new Date(Date.now() + 365 * 86_400_000).toISOString(), status: 'active' as const } } : {}),
  };
  checkTermsForRole(request.party.id, request.party.role, terms);
  const certificates = Object.values(admission.certificates);
  await operatorChange(o, { method: 'POST', path: '/v1/operator/parties', body: { party: request.party, certificates, ...terms, ...(o.renew ? { renew: true } : {}) } }, (db) =>
    admitParty(db, { ...request.party, ...terms }, certificates, admission.caPem, { renew: o.renew }),
  );
  writeFileSync(o.out, JSON.stringify(admission, null, 2));
  process.stdout.write(`${request.party.id} admitted as ${request.party.role}; send ${o.out} back to it\n`);
});

withOperatorTarget(
  operator
    .command('update <partyId>')
    .description("change a registered party's endpoints or a bank's terms (one party evidence leaf, a new directory version)")
    .option('--grpc <host:port>', "a channel's or bank's gRPC endpoint")
    .option('--web <url>', "a bank's application page")
    .option('--callback-origin <origin...>', "a platform's callback origins")
    .option('--contracted-channel <id>', "a bank's contracted licensed channel")
    .option('--decision-timeout-ms <ms>', "a bank's decision timeout", (v) => Number(v)),
).action(async (partyId: string, o: OperatorTarget & { grpc?: string; web?: string; callbackOrigin?: string[]; contractedChannel?: string; decisionTimeoutMs?: number }) => {
  const body = termsOf(o);
  await operatorChange(o, { method: 'PATCH', path: `/v1/operator/parties/${encodeURIComponent(partyId)}`, body }, async (db) => {
    await setPartyEndpoint(db, partyId, { ...(o.grpc ? { grpc: o.grpc } : {}), ...(o.web ? { web: o.web } : {}), ...(o.callbackOrigin ? { callbackOrigins: o.callbackOrigin } : {}) });
    if (o.contractedChannel || o.decisionTimeoutMs !== undefined) await setBankTerms(db, partyId, { ...(o.contractedChannel ? { contractedChannel: o.contractedChannel } : {}), ...(o.decisionTimeoutMs !== undefined ? { decisionTimeoutMs: o.decisionTimeoutMs } : {}) });
  });
  process.stdout.write(`${partyId} updated; routers and parties see it within seconds\n`);
});

withOperatorTarget(
  operator
    .command('funding <platformId> <rules>')
    .description("replace a platform's funding list (JSON array of { bankId, priority, minAmount, maxAmount, terms, regions, dailyQuota }) — the banks its cascade may reach"),
).action(async (platformId: string, file: string, o: OperatorTarget) => {
  const rules = JSON.parse(readFileSync(file, 'utf8')) as FundingRule[];
  await operatorChange(o, { method: 'PUT', path: `/v1/operator/platforms/${encodeURIComponent(platformId)}/funding`, body: { rules } }, (db) => setFundingRules(db, platformId, rules));
  process.stdout.write(`${platformId}: ${rules.length} funding rules\n`);
});

withOperatorTarget(
  operator.command('revoke <keyId>').description('revoke a party certificate from now (as revoke-certificate): routers within 5 s, parties at their next directory refresh'),
).action(async (keyId: string, o: OperatorTarget) => {
  await operatorChange(o, { method: 'POST', path: `/v1/operator/certificates/${encodeURIComponent(keyId)}/revoke` }, async (db) => {
    if (!(await revokeCertificate(db, keyId))) throw new Error('no such certificate that is not already revoked');
  });
  process.stdout.write(`revoked ${keyId}\n`);
});

operator
  .command('keygen')
  .description("an operator's own Ed25519 key pair: the private key stays with the operator; the public key goes to the network's operators.json (dzl operator allow)")
  .requiredOption('--id <id>', 'the operator (lower-case letters, digits, . _ -)')
  .requiredOption('--out <dir>', 'where to write <id>.key.pem (0600) and <id>.pub.pem')
  .action((o: { id: string; out: string }) => {
    if (!/^[a-z0-9][a-z0-9._-]{1,62}$/.test(o.id)) throw new Error('operator ids are lower-case letters, digits, . _ -');
    const key = join(o.out, `${o.id}.key.pem`);
    if (existsSync(key)) throw new Error(`${key} exists: an operator's key is never overwritten`);
    mkdirSync(o.out, { recursive: true, mode: 0o700 });
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(o.out, `${o.id}.pub.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
    process.stdout.write(`${key} and ${o.id}.pub.pem written; have the network admin run dzl operator allow with the public key\n`);
  });
operator
  .command('allow')
  .description("list an operator's public key in the network's operators/operators.json (the operator API's and the codec server's operators; read by routers at once)")
  .option('--network <dir>', 'network folder', defaults.network)
  .requiredOption('--id <id>', 'the operator')
  .requiredOption('--public-key <file>', "the operator's public key (PEM)")
  .action((o: { network: string; id: string; publicKey: string }) => {
    const pem = readFileSync(o.publicKey, 'utf8');
    if (createPublicKey(pem).asymmetricKeyType !== 'ed25519') throw new Error('an operator key is Ed25519');
    const file = join(o.network, 'operators', 'operators.json');
    mkdirSync(join(o.network, 'operators'), { recursive: true, mode: 0o700 });
    const current = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { operators: { id: string; publicKeyPem: string }[] }) : { operators: [] };
    current.operators = [...current.operators.filter((x) => x.id !== o.id), { id: o.id, publicKeyPem: pem }];
    writeFileSync(`${file}.tmp`, JSON.stringify(current, null, 2));
    renameSync(`${file}.tmp`, file);
    process.stdout.write(`${o.id} is an operator of the network (${current.operators.length} in ${file})\n`);
  });

// The reference parties as their own processes (contracts/parties.md)
for (const role of ['channel', 'bank', 'platform'] as const) {
  program
    .command(role)
    .description(`run a reference ${role} as its own process, from its configuration file (contracts/parties.md)`)
    .requiredOption('--config <file>', "the party's configuration (JSON)")
    .action(async (o: { config: string }) => {
      const running = await runParty(o.config, role);
      process.stderr.write(`dzl ${role} ${running.partyId} running: ${Object.entries(running.endpoints).map(([k, v]) => `${k} ${v}`).join(', ')}; directory version ${running.directory.version}\n`);
      const stop = () => void running.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

program
  .command('payload-key-rotate')
  .description("a new key for the router's Temporal payloads; the old one stays readable. Restart routers and workers one by one")
  .option('--network <dir>', 'network folder', defaults.network)
  .action((o: { network: string }) => {
    const keyId = rotatePayloadKey(o.network);
    process.stdout.write(`Temporal payloads are now sealed under ${keyId}; earlier keys stay in payload.previous.json\n`);
  });

const keyring = program.command('keyring').description("a reference party's at-rest keyring (kept apart from its store)");
keyring
  .command('rotate <file>')
  .description('add a new primary key; running parties pick it up within a second, old records stay readable')
  .action((file: string) => {
    const k = Keyring.open(file);
    const { id } = k.rotate();
    process.stdout.write(`primary key is now ${id} (${k.info().keys.length} keys); run \`dzl keyring reencrypt\` to move old records onto it\n`);
  });
keyring
  .command('reencrypt <file>')
  .description("re-encrypt a party's records under the primary key, in batches, while the party keeps running")
  .requiredOption('--db <url>', "the party's store URL")
  .requiredOption('--party <id>', 'the party whose records these are')
  .action(async (file: string, o: { db: string; party: string }) => {
    const db = await openDb(o.db, { migrate: false });
    try {
      const vault = await Vault.open(db, Keyring.open(file), o.party);
      // a party that has not reloaded the keyring yet may still write under the old key: until one key remains
      for (let moved = await vault.reencrypt(); moved > 0; moved = await vault.reencrypt()) process.stdout.write(`re-encrypted ${moved} records\n`);
      process.stdout.write(`${JSON.stringify(await vault.stats())}\n`);
    } finally {
      await db.destroy();
    }
  });

registerVerifyCommand(program);

program
  .command('regulator-link')
  .description("print a one-hour link to the regulator's page, signed with the regulator's key")
  .option('--network <dir>', 'network folder', defaults.network)
  .option('--party <id>', 'the regulator', 'regulator-pboc')
  .option('--router-url <url>', "the router's HTTP address", 'http://127.0.0.1:8080')
  .option('--application <id>', 'open this application directly')
  .action((o: { network: string; party: string; routerUrl: string; application?: string }) => {
    const token = encodeURIComponent(regulatorLinkToken(loadPartyIdentity(o.network, o.party).signing));
    const path = o.application ? `/regulator/application?id=${encodeURIComponent(o.application)}&token=${token}` : `/regulator?token=${token}`;
    process.stdout.write(`${o.routerUrl}${path}\n`);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`dzl: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
