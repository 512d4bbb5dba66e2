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
 */
import Table from 'cli-table3';
import { Command } from 'commander';
import { Keyring } from '../atrest/keyring';
import { Vault } from '../atrest/vault';
import { msToNumber, type Duration } from '@temporalio/common';
import { hopsOfApplication, whoSawWhat } from '../ledger/ledger';
import { createDevNetwork, loadPartyIdentity, readNetworkFile, rotatePayloadKey } from '../network/folder';
import { regulatorLinkToken } from '../router/regulatorPage';
import { registerVerifyCommand } from './verifyCommand';
import { parseCertificate } from '../pki/certificate';
import { prebuiltWorkflowBundle, startRouter, startWorker, temporalTlsFromEnv } from '../runtime/stack';
import { getApplication } from '../store/applications';
import { openDb } from '../store/db';
import { registerNetwork, revokeCertificate } from '../operator/registry';

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
  .action((o: { dir: string }) => {
    const file = createDevNetwork(o.dir);
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

interface ProcessOptions { db: string; network: string; temporal: string; retainApproved: string; retainOther: string; allowPrivateCallbacks: boolean; host: string; port: string; grpcAddress?: string; advertiseGrpc?: string; advertiseUrl?: string }

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
    .option('--allow-private-callbacks', 'let callbacks go to loopback, private and link-local addresses (development only)', process.env.DZL_ALLOW_PRIVATE_CALLBACKS === '1');
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
      const router = await startRouter(cfg, { host: o.host, port: Number(o.port), ...(o.grpcAddress ? { grpcAddress: o.grpcAddress } : {}), ...(o.advertiseGrpc ? { advertiseGrpc: o.advertiseGrpc } : {}), ...(o.advertiseUrl ? { advertiseUrl: o.advertiseUrl } : {}) });
      process.stderr.write(`dzl router running at ${router.url}, gRPC ${router.grpcAddress}\n`);
      running = router;
    } else {
      // bundled once at `make build`; bundling here instead costs seconds before the worker polls
      const bundle = prebuiltWorkflowBundle();
      if ('unusable' in bundle) process.stderr.write(`dzl worker: ${bundle.unusable}; bundling the workflows now\n`);
      running = await startWorker(cfg, 'codePath' in bundle ? { bundle } : {});
      process.stderr.write(`dzl worker running${'codePath' in bundle ? ` (workflows from ${bundle.codePath})` : ''}\n`);
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
