/**
 * `make demo`: a whole network on embedded defaults — the Temporal dev server on a SQLite file,
 * the router's store on SQLite (or DZL_DB_URL) — carrying the sample applications through the
 * risk-control data channel, then printing each route, decision and who-saw-what table, and
 * scanning every store and log for the customers' names, ID numbers and mobiles.
 */
import Table from 'cli-table3';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hopsOfApplication, whoSawWhat } from '../ledger/ledger';
import { verifyBundle } from '../evidence/verify';
import { ensureLogKeys, loadPartyIdentity, loadWitnessSigner, readNetworkFile } from '../network/folder';
import { ReferenceRegulator } from '../parties/regulator';
import { SAMPLE_CUSTOMERS, sensitiveValues } from '../parties/samples';
import { decide, type BankDecision } from '../parties/bank';
import type { Fields } from '../seal/hop';
import { DEV, startLocalNetwork, waitForState } from '../runtime/localNetwork';
import { startDevServer } from '../temporal/devServer';
import { noticeCounts } from '../store/notices';
import { recipientsOf } from '../store/sealedHops';
import { scanForPlaintext } from './scan';

/** The customer who applies on the bank's own page (the platform never sees these). */
const REDIRECT_CUSTOMER = { name: '孙丽娜', idNumber: '330104199405063826', mobile: '13712345678' };

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
  // bank-hangzhou declines loans above ¥100,000, so a large application cascades to bank-suzhou
  const cautious = (f: Fields): BankDecision =>
    Number(f['loan.amount']) > 10_000_000
      ? { outcome: { status: 'declined', reasonCode: 'AMOUNT_ABOVE_APPETITE' }, fields: { 'decision.status': 'declined', 'decision.reasonCode': 'AMOUNT_ABOVE_APPETITE' } }
      : decide(f);
  const net = await startLocalNetwork({
    dbUrl,
    networkDir,
    temporalAddress: temporal.address,
    logFile,
    // bank-ningbo takes its time (4 s) to decide: long enough for a customer to withdraw consent
    banks: { [DEV.banks[0]]: { policy: cautious, disburseAfterMs: 300 }, [DEV.banks[1]]: { disburseAfterMs: 300 }, [DEV.banks[2]]: { asyncAfterMs: 4000, decisionTimeoutMs: 60_000 } },
    // the parties' encrypted stores in the run's folder; their keyrings elsewhere
    partyStores: { dataDir: join(runDir, 'party-data'), keyDir: join(home, 'demo-party-keys') },
    // short, so the demo shows it: an application that ends without a loan is erased after 3 s
    retention: { approvedMs: 24 * 3600_000, otherMs: 3000 },
  });
  process.stdout.write(`  router ${net.router.url}  store ${dbUrl.split('?')[0]}  temporal ${temporal.address}\n\n`);
  try {
    const bank = DEV.banks[0];
    const submitted = [];
    for (const c of SAMPLE_CUSTOMERS.slice(0, 3)) {
      const app = net.platform.prepare(c.fields, bank);
      const res = await net.platform.submit(app);
      if (res.status !== 202) throw new Error(`submission refused: ${JSON.stringify(res.body)}`);
      submitted.push({ label: c.label, app });
    }
    // the funding cascade: a consent naming two banks, routed by the platform's funding list
    const big = SAMPLE_CUSTOMERS[3]!;
    const cascade = net.platform.prepare(big.fields, { attributes: { amount: Number(big.fields['loan.amount']), termMonths: Number(big.fields['loan.termMonths']), region: 'GD' } }, {
      consent: net.platform.consentFor([DEV.banks[0], DEV.banks[1]]),
    });
    const cascaded = await net.platform.submit(cascade);
    if (cascaded.status !== 202) throw new Error(`cascade refused: ${JSON.stringify(cascaded.body)}`);
    submitted.push({ label: 'large loan, funding cascade over two consented banks', app: cascade });

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
      const provenance = (await net.platform.request('GET', `/v1/applications/${app.applicationId}/provenance`)).body as { decisions: { bank: string; outcome: string; channel: string; channelProduct?: { name: string; version: string }; bankModel?: { name: string; version: string } }[] };
      const route = (body.route as { bank: string; outcome?: string; reasonCode?: string }[]) ?? [];
      if (route.length > 1) process.stdout.write(`  funding cascade: ${route.map((r) => `${r.bank} ${r.outcome ?? '—'}${r.reasonCode ? ` (${r.reasonCode})` : ''}`).join(' → ')}\n`);
      process.stdout.write(`  decision: ${outcome}\n`);
      for (const d of provenance.decisions) {
        process.stdout.write(`  provenance (PIPL Art. 24): ${d.bank} ${d.outcome} with model ${d.bankModel ? `${d.bankModel.name} ${d.bankModel.version}` : '—'}, on ${d.channelProduct ? `${d.channelProduct.name} ${d.channelProduct.version}` : '—'} from ${d.channel}\n`);
      }
      const parties = [DEV.platform, DEV.channel, ...new Set(hops.filter((h) => h.header.to.startsWith('bank-')).map((h) => h.header.to)), 'router'];
      const matrix = whoSawWhat(hops, parties);
      const table = new Table({ head: ['field', 'class', ...parties], style: { head: [], border: [] } });
      for (const row of matrix.fields) table.push([row.field, row.class, ...parties.map((p) => (row.seenBy.includes(p) ? 'saw' : '—'))]);
      process.stdout.write(table.toString() + '\n\n');
    }

    // The direct-redirect model: the customer applies on the bank's own page with a one-time token.
    const risk = Object.fromEntries(Object.entries(SAMPLE_CUSTOMERS[0]!.fields).filter(([k]) => k.startsWith('risk.')));
    const redirect = await net.platform.startRedirect(DEV.banks[1], risk);
    const form = await fetch(redirect.redirectUrl);
    if (!form.ok) throw new Error(`the bank's page answered ${form.status}`);
    const customer = new URLSearchParams({ token: redirect.token, ...REDIRECT_CUSTOMER, amount: '30000', term: '12', consent: 'yes' });
    await fetch(redirect.redirectUrl.split('?')[0]!, { method: 'POST', body: customer, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    await waitForState(net.platform, redirect.applicationId, ['platform_notified'], 60_000);
    const redirectHops = await hopsOfApplication(net.db, redirect.applicationId);
    const learned = net.platform.decisions.get(redirect.applicationId);
    process.stdout.write(`■ ${redirect.applicationId}  (direct redirect to ${DEV.banks[1]}'s own page)\n`);
    process.stdout.write(`  route: ${redirectHops.map((h) => `${h.header.from} →[${h.header.kind}]→ ${h.header.to}`).join('  ·  ')}\n`);
    process.stdout.write(`  the platform learned: ${learned?.outcome.status} (fields it can open: ${Object.keys(learned?.fields ?? {}).join(', ')})\n`);
    const rParties = [DEV.platform, DEV.channel, DEV.banks[1], 'router'];
    const rTable = new Table({ head: ['field', 'class', ...rParties], style: { head: [], border: [] } });
    for (const row of whoSawWhat(redirectHops, rParties).fields) rTable.push([row.field, row.class, ...rParties.map((p) => (row.seenBy.includes(p) ? 'saw' : '—'))]);
    process.stdout.write(rTable.toString() + '\n\n');

    // The customer withdraws consent while the bank is still deciding.
    const slowBank = DEV.banks[2];
    const withdrawn = net.platform.prepare(SAMPLE_CUSTOMERS[0]!.fields, slowBank);
    if ((await net.platform.submit(withdrawn)).status !== 202) throw new Error('the withdrawal demo application was refused');
    const deadline0 = Date.now() + 15_000;
    while (!net.events.get(slowBank)!.received.includes(withdrawn.applicationId) && Date.now() < deadline0) await new Promise((r) => setTimeout(r, 50));
    const consentId = (withdrawn.body.consent as { id: string }).id;
    const w = await net.platform.withdrawConsent(consentId);
    const stopped = await waitForState(net.platform, withdrawn.applicationId, ['withdrawn'], 30_000);
    const notices = (stopped.body.notices as { to: string; kind: string; acknowledgedAt?: string }[]) ?? [];
    process.stdout.write(`■ ${withdrawn.applicationId}  (consent withdrawn while ${slowBank} was still deciding)\n`);
    process.stdout.write(`  consent ${consentId}: ${String(w.body.state)}; workflow stopped: ${JSON.stringify(w.body.applications)}\n`);
    process.stdout.write(`  signed withdrawal notices: ${notices.map((n) => `${n.to} ${n.acknowledgedAt ? 'acknowledged' : 'pending'}`).join(', ')}; ${slowBank} never sent its decision\n\n`);

    // Retention: applications that ended without a loan lose their sealed payloads; parties are asked to delete.
    const ended = [...submitted.map((x) => x.app.applicationId), withdrawn.applicationId];
    const erased: string[] = [];
    for (const id of ended) {
      const decided = net.platform.decisions.get(id)?.outcome.status;
      if (decided === 'approved') continue;
      await waitForState(net.platform, id, ['payloads_erased'], 30_000);
      erased.push(id);
    }
    // the delete notices follow the erasure: wait until every one is acknowledged
    // the sweeper hands each erased application to its own deletion workflow: wait until those have
    // sent their notices and every one is acknowledged
    let expected = 0;
    for (const id of erased.filter((x) => x !== withdrawn.applicationId)) expected += (await recipientsOf(net.db, id, ['application', 'credit_report', 'redirect'])).length;
    const settled = async () => (await noticeCounts(net.db, 'delete_data')).acknowledged >= expected;
    for (const end = Date.now() + 30_000; Date.now() < end && !(await settled()); ) await new Promise((r) => setTimeout(r, 100));
    const deletes = await noticeCounts(net.db, 'delete_data');
    process.stdout.write(
      `retention: sealed payloads of ${erased.length} applications that ended without a loan erased after 3 s (headers and evidence kept); ` +
        `${deletes.acknowledged} delete notices acknowledged by the channel and banks\n\n`,
    );

    // Disbursements and the platform's reconciliation for the day.
    const approved = [...net.platform.decisions.values()].filter((d) => d.outcome.status === 'approved').length;
    const deadline = Date.now() + 15_000;
    while (net.platform.disbursements.size < approved && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const rec = await net.platform.request('GET', `/v1/reconciliation?day=${new Date().toISOString().slice(0, 10)}`);
    const recBody = rec.body as { decisions: { outcome: string }[]; disbursements: unknown[] };
    process.stdout.write(
      `reconciliation for ${DEV.platform} today: ${recBody.decisions.length} bank decisions (${recBody.decisions.filter((d) => d.outcome === 'approved').length} approved), ` +
        `${recBody.disbursements.length} disbursements reported; the platform opened ${net.platform.disbursements.size} disbursement notices\n\n`,
    );

    // The regulator: witness the log, pull one application's evidence and verify it offline.
    const trust = ensureLogKeys(networkDir).log!;
    const regulator = new ReferenceRegulator(loadPartyIdentity(networkDir, 'regulator-pboc'), net.router.url, loadWitnessSigner(networkDir, 'regulator-pboc'), trust.routerVkey);
    const cosigned = await regulator.witnessLatest();
    const bundle = await regulator.applicationBundle(firstId, true);
    const bundleFile = join(runDir, `bundle-${firstId}.json`);
    writeFileSync(bundleFile, JSON.stringify(bundle, null, 2));
    const report = verifyBundle({ bundle, caPem: readNetworkFile(networkDir).caPem, routerVkey: trust.routerVkey, origin: trust.origin, requireWitnesses: trust.witnesses.map((w) => w.vkey) });
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
  const scan = scanForPlaintext([runDir], [...sensitiveValues(), ...Object.values(REDIRECT_CUSTOMER).slice(0, 3)]);
  process.stdout.write(
    `plaintext scan of the Temporal database, the router's database, the parties' encrypted stores and the logs: ${scan.files} files, ${(scan.bytes / 1e6).toFixed(1)} MB, ` +
      `${scan.hits.length === 0 ? 'no customer name, ID number or mobile found' : `${scan.hits.length} HITS: ${scan.hits.map((h) => h.file).join(', ')}`}\n`,
  );
  if (scan.hits.length > 0) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
