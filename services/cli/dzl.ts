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
import { hopsOfApplication, whoSawWhat } from '../evidence/ledger';
import { createDevNetwork, loadPartyIdentity, readNetworkFile } from '../pki/network';
import { regulatorLinkToken } from '../router/regulatorPage';
import { registerVerifyCommand } from './verifyCommand';
import { parseCertificate } from '../pki/certificate';
import { startRouter, startWorker } from '../runtime/stack';
import { getApplication } from '../store/applications';
import { openDb } from '../store/db';
import { registerNetwork, revokeCertificate } from '../store/parties';

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

for (const [name, describe] of [['router', 'run the router: HTTP API for platforms and regulators'], ['worker', 'run a worker: activities and workflows']] as const) {
  program
    .command(name)
    .description(describe)
    .option('--db <url>', 'store URL', defaults.db)
    .option('--network <dir>', 'network folder (CA and the router’s own keys)', defaults.network)
    .option('--temporal <address>', 'Temporal frontend', defaults.temporal)
    .option('--port <port>', 'HTTP port (router)', '8080')
    .action(async (o: { db: string; network: string; temporal: string; port: string }) => {
      const cfg = { dbUrl: o.db, networkDir: o.network, temporalAddress: o.temporal };
      const running = name === 'router' ? await startRouter(cfg, Number(o.port)) : await startWorker(cfg);
      process.stderr.write(`dzl ${name} running${'url' in running ? ` at ${running.url}` : ''}\n`);
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
      if (!(await db('party_certificates').where({ key_id: keyId }).first())) throw new Error(`no certificate ${keyId}`);
      await revokeCertificate(db, keyId);
      process.stdout.write(`revoked ${keyId}; routers and workers pick it up within 5 s\n`);
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
