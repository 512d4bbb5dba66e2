/**
 * `make demo`: a whole network on embedded defaults — the Temporal dev server on a SQLite file,
 * the router's store on SQLite (or DZL_DB_URL) — carrying the sample applications through the
 * risk-control data channel, then printing each route, decision and who-saw-what table, and
 * scanning every store and log for the customers' names, ID numbers and mobiles.
 */
import Table from 'cli-table3';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hopsOfApplication, whoSawWhat } from '../evidence/ledger';
import { verifyBundle } from '../evidence/verify';
import { ensureLogKeys, loadPartyIdentity, loadWitnessSigner, readNetworkFile } from '../pki/network';
import { ReferenceRegulator } from '../parties/regulator';
import { SAMPLE_CUSTOMERS, sensitiveValues } from '../parties/samples';
import { DEV, startLocalNetwork, waitForState } from '../runtime/localNetwork';
import { startDevServer } from '../temporal/devServer';
import { scanForPlaintext } from './scan';

async function main(): Promise<void> {
  const home = resolve(process.env.DZL_HOME ?? '.dzl');
  const runDir = join(home, 'demo');
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(join(runDir, 'logs'), { recursive: true });
  const networkDir = join(home, 'network');
  const dbUrl = process.env.DZL_DB_URL ?? `sqlite://${join(runDir, 'dzl.db')}`;
  const logFile = join(runDir, 'logs', 'dzl.log');

  process.stdout.write(`dzl demo — data in ${runDir}\n  starting Temporal dev server (SQLite) …\n`);
  const temporal = await startDevServer(runDir);
  const net = await startLocalNetwork({ dbUrl, networkDir, temporalAddress: temporal.address, logFile });
  process.stdout.write(`  router ${net.router.url}  store ${dbUrl.split('?')[0]}  temporal ${temporal.address}\n\n`);
  try {
    const bank = DEV.banks[0];
    const submitted = [];
    for (const c of SAMPLE_CUSTOMERS) {
      const app = net.platform.prepare(c.fields, bank);
      const res = await net.platform.submit(app);
      if (res.status !== 202) throw new Error(`submission refused: ${JSON.stringify(res.body)}`);
      submitted.push({ label: c.label, app });
    }
    const firstId = submitted[0]!.app.applicationId;
    for (const { label, app } of submitted) {
      const { state, body } = await waitForState(net.platform, app.applicationId, ['platform_notified', 'refused'], 60_000);
      const decision = net.platform.decisions.get(app.applicationId) ?? (body.decision ? net.platform.openDecision((body.decision as { hop: never }).hop) : undefined);
      const f = decision?.fields ?? {};
      const outcome =
        decision?.outcome.status === 'approved'
          ? `APPROVED  limit ¥${(Number(f['decision.limit']) / 100).toLocaleString('en')}  APR ${(Number(f['decision.aprBasisPoints']) / 100).toFixed(2)}%  ${f['decision.termMonths']} months`
          : decision
            ? `DECLINED  ${decision.outcome.reasonCode}`
            : `REFUSED (${state})`;
      const hops = await hopsOfApplication(net.db, app.applicationId);
      process.stdout.write(`■ ${app.applicationId}  (${label})\n`);
      process.stdout.write(`  route: ${hops.map((h) => `${h.header.from} →[${h.header.kind}]→ ${h.header.to}`).join('  ·  ')}\n`);
      const made = net.banks.get(bank)?.decisions.find((d) => d.applicationId === app.applicationId);
      process.stdout.write(`  credit product: ${made ? `${made.productVersion} by ${DEV.channel}` : '—'}   decision by ${bank}: ${outcome}\n`);
      const parties = [DEV.platform, DEV.channel, bank, 'router'];
      const matrix = whoSawWhat(hops, parties);
      const table = new Table({ head: ['field', 'class', ...parties], style: { head: [], border: [] } });
      for (const row of matrix.fields) table.push([row.field, row.class, ...parties.map((p) => (row.seenBy.includes(p) ? 'saw' : '—'))]);
      process.stdout.write(table.toString() + '\n\n');
    }

    // The regulator: witness the log, pull one application's evidence and verify it offline.
    const trust = ensureLogKeys(networkDir).log!;
    const regulator = new ReferenceRegulator(loadPartyIdentity(networkDir, 'regulator-pboc'), net.router.url, loadWitnessSigner(networkDir, 'regulator-pboc'), trust.routerVkey);
    const cosigned = await regulator.witnessLatest();
    const bundle = await regulator.applicationBundle(firstId, true);
    const bundleFile = join(runDir, `bundle-${firstId}.json`);
    writeFileSync(bundleFile, JSON.stringify(bundle, null, 2));
    const report = verifyBundle({ bundle, caPem: readNetworkFile(networkDir).caPem, routerVkey: trust.routerVkey, requireWitnesses: trust.witnesses.map((w) => w.vkey) });
    process.stdout.write(
      `evidence: checkpoint of tree size ${cosigned.treeSize} signed by the router and cosigned by regulator-pboc's witness\n` +
        `  bundle for ${firstId}: ${bundle.leaves.length} leaves → ${bundleFile}\n` +
        `  offline verification: ${report.ok ? `PASS (${report.checks.length} checks)` : `FAIL\n    ${report.failures.join('\n    ')}`}\n` +
        `  verify it yourself: node dist/services/cli/dzl.js verify ${bundleFile} --network ${networkDir} --witness-key '${trust.witnesses[0]!.vkey}'\n\n`,
    );
    if (!report.ok) process.exitCode = 1;
  } finally {
    await net.close();
    await temporal.stop();
  }
  const scan = scanForPlaintext([runDir], sensitiveValues());
  process.stdout.write(
    `plaintext scan of the Temporal database, the router's database and the logs: ${scan.files} files, ${(scan.bytes / 1e6).toFixed(1)} MB, ` +
      `${scan.hits.length === 0 ? 'no customer name, ID number or mobile found' : `${scan.hits.length} HITS: ${scan.hits.map((h) => h.file).join(', ')}`}\n`,
  );
  if (scan.hits.length > 0) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
