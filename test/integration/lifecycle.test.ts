import { strict as assert } from 'node:assert';
import { leavesOfApplication, refusals } from '../../services/ledger/ledger';
import { applicationBundle } from '../../services/ledger/bundles';
import { verifyBundle } from '../../services/evidence/verify';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork, type LocalNetworkOptions } from '../../services/runtime/localNetwork';
import { statesOf } from '../../services/store/applicationStates';
import { getSealedHop } from '../../services/store/sealedHops';
import { ensureNetwork, env, RUN_DIR, temporalAddress, workflowBundle } from '../support/env';
import { leakingChannel } from '../support/hostile';
import { scanForPlaintext } from '../../services/demo/scan';
import { dumpDatabase } from '../support/scan';
import { join } from 'node:path';
import { Keyring } from '../../services/atrest/keyring';
import { classOf } from '../../services/fields/catalogue';
import { clientCredentials, fromGrpcError, hopToWire, loadDzlProtos, unaryCall } from '../../services/grpc/transport';
import { loadPartyIdentity } from '../../services/network/folder';
import { newSalt, sealHop } from '../../services/seal/hop';
import { freshStore, type StoreKind } from '../support/stores';
import { until } from '../support/wait';

const [HANGZHOU, SUZHOU] = DEV.banks;
const GOOD = SAMPLE_CUSTOMERS[0]!.fields;
const FRAUD = SAMPLE_CUSTOMERS[1]!.fields;

/** A network of its own for the describe block that calls this: started before its tests, closed after. */
function useNetwork(kind: StoreKind, suite: string, opts: Partial<LocalNetworkOptions>): () => LocalNetwork {
  let started: LocalNetwork | undefined;
  let drop: (() => Promise<void>) | undefined;
  before(async () => {
    const store = await freshStore(kind, suite);
    drop = store.drop;
    started = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle(), ...opts });
  });
  after(async () => {
    await started?.close();
    await drop?.();
  });
  return () => started!;
}


/** The same application citing a registered consent by id instead of declaring it inline. */
function citing<T extends { body: { consent?: unknown } }>(app: T, consentId: string): T {
  const { consent: _inline, ...body } = app.body;
  return { ...app, body: { ...body, consentId } };
}

function verifies(n: LocalNetwork, bundle: unknown) {
  const report = verifyBundle({ bundle, caPem: n.router.directory.get().caPem, routerVkey: n.router.regulator.trust.routerVkey, origin: n.router.regulator.trust.origin });
  assert.ok(report.ok, report.failures.join('\n'));
  return report;
}

describe('consent withdrawal — real Temporal, gRPC, HTTP, MariaDB', function () {
  this.timeout(120_000);
  const net = useNetwork('mysql', 'withdrawal', {
      // a slow bank: it decides 6 s after delivery, well within its 60 s timeout
      banks: { [HANGZHOU]: { asyncAfterMs: 6000, decisionTimeoutMs: 60_000 } },
      retention: { approvedMs: 3_600_000, otherMs: 3_600_000 },
    });

  it('stops the application during a slow bank decision; channel and bank receive signed notices and acknowledge them', async () => {
    const app = net().platform.prepare(GOOD, HANGZHOU);
    assert.equal((await net().platform.submit(app)).status, 202);
    const bank = net().banks.get(HANGZHOU)!;
    const seenAtBank = net().events.get(HANGZHOU)!;
    await until('the bank to hold the credit report', () => seenAtBank.received.includes(app.applicationId));
    const consentId = (app.body.consent as { id: string }).id;

    const res = await net().platform.withdrawConsent(consentId);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.state, 'withdrawn');
    assert.deepEqual(res.body.applications, [{ applicationId: app.applicationId, stopped: true }]);

    const handle = net().router.temporal.workflow.getHandle((await net().db('applications').where({ id: app.applicationId }).first()).workflow_id);
    const result = await handle.result();
    assert.deepEqual(result, { status: 'withdrawn', by: DEV.platform });
    // the workflow ended while the bank was still deciding: its decision was never taken
    assert.equal(seenAtBank.submitted.size, 0, 'the workflow stopped before the bank decided');
    assert.ok(await bank.isStopped(app.applicationId), 'the bank keeps a tombstone in its store');
    const toBank = seenAtBank.notices.find((n) => n.applicationId === app.applicationId);
    assert.equal(toBank?.kind, 'consent_withdrawn');
    const toChannel = net().events.get(net().channel.partyId)!.notices.find((n) => n.applicationId === app.applicationId);
    assert.equal(toChannel?.kind, 'consent_withdrawn');
    const intake = await net().db('sealed_hops').where({ application_id: app.applicationId, to_party: DEV.channel }).first();
    assert.deepEqual(toChannel!.hops, [intake.hop_id], 'the notice names the hops the party received');
    const { body } = await waitForState(net().platform, app.applicationId, ['withdrawn']);
    assert.equal(net().platform.outcomes.get(app.applicationId)?.outcome, 'withdrawn');
    const notices = body.notices as { to: string; kind: string; acknowledgedAt?: string }[];
    assert.deepEqual(notices.map((n) => `${n.kind}:${n.to}`).sort(), [`consent_withdrawn:${HANGZHOU}`, `consent_withdrawn:${DEV.channel}`]);
    assert.ok(notices.every((n) => n.acknowledgedAt), 'both parties acknowledged');

    // the evidence: the withdrawal, both notices, both acknowledgements (receipts signed by the parties)
    const leaves = await leavesOfApplication(net().db, app.applicationId);
    assert.equal(leaves.filter((l) => l.kind === 'notice').length, 2);
    const noticeIds = leaves.filter((l) => l.kind === 'notice').map((l) => l.hopId);
    assert.equal(leaves.filter((l) => l.kind === 'receipt' && noticeIds.includes(l.hopId)).length, 2);
    const bundle = await applicationBundle(net().db, net().router.regulator.log, app.applicationId);
    const kinds = bundle.leaves.map((l) => (JSON.parse(Buffer.from(l.data, 'base64url').toString('utf8')) as { type: string }).type);
    assert.ok(kinds.includes('consent_state'), 'the withdrawal is in the application’s bundle');
    verifies(net(), bundle);

    // the reference bank, told, never sends its decision; a bank that sent one anyway is refused
    await new Promise((r) => setTimeout(r, 6500));
    assert.equal(seenAtBank.submitted.size, 0, 'a stopped bank submits nothing');
    const report = await net().db('sealed_hops').where({ application_id: app.applicationId, kind: 'credit_report' }).first();
    const late = sealHop(loadPartyIdentity(ensureNetwork(), HANGZHOU).signing, {
      parentHopId: report.hop_id, applicationId: app.applicationId, kind: 'decision', model: 'data_channel',
      to: net().router.directory.get().encryptionCertificate(DEV.platform), platform: DEV.platform, channel: DEV.channel, consentRef: consentId,
      fields: { 'decision.status': 'approved', 'decision.limit': 1_000_000, 'decision.aprBasisPoints': 1800, 'decision.termMonths': 12 }, salt: newSalt(), classOf, outcome: { status: 'approved' },
    });
    const { RouterService } = loadDzlProtos();
    const client = new RouterService(net().router.grpcAddress, clientCredentials(loadPartyIdentity(ensureNetwork(), HANGZHOU), 'router'), { 'grpc.ssl_target_name_override': 'localhost' });
    try {
      await assert.rejects(unaryCall(client, 'SubmitDecision', { decision_hop: hopToWire(late.sealed) }, 10_000), (e: unknown) => fromGrpcError(e)?.code === 'CONSENT_WITHDRAWN');
    } finally {
      client.close();
    }
    const refused = await refusals(net().db, { applicationId: app.applicationId, code: 'CONSENT_WITHDRAWN' });
    assert.ok(refused.some((r) => r.stage === 'bank decision' && r.from === HANGZHOU), 'the refusal is recorded');
    assert.equal(await getSealedHop(net().db, late.header.hopId), undefined, 'nothing taken into custody');
  });

  it('on a withdrawal for the deciding bank only: the application stops; the bank is told consent ended, the channel to delete', async () => {
    const consent = net().platform.consentFor([HANGZHOU, SUZHOU]);
    const app = net().platform.prepare(GOOD, HANGZHOU, { consent });
    assert.equal((await net().platform.submit(app)).status, 202);
    await until('the bank to hold the credit report', () => net().events.get(HANGZHOU)!.received.includes(app.applicationId));
    const res = await net().platform.withdrawConsent(consent.id, { recipients: [HANGZHOU] });
    assert.equal(res.body.state, 'partially_withdrawn');
    assert.deepEqual(res.body.applications, [{ applicationId: app.applicationId, stopped: true }]);
    await waitForState(net().platform, app.applicationId, ['withdrawn']);
    const notices = await net().db('notices').where({ application_id: app.applicationId }).orderBy('to_party');
    assert.deepEqual(notices.map((n) => `${n.to_party}:${n.kind}:${n.acknowledged_at ? 'ack' : 'pending'}`), [`${HANGZHOU}:consent_withdrawn:ack`, `${DEV.channel}:delete_data:ack`]);
    verifies(net(), await applicationBundle(net().db, net().router.regulator.log, app.applicationId));
  });

  it('refuses a later application under the withdrawn consent (CONSENT_WITHDRAWN) and records it', async () => {
    const first = net().platform.prepare(GOOD, SUZHOU);
    assert.equal((await net().platform.submit(first)).status, 202);
    await waitForState(net().platform, first.applicationId, ['platform_notified']);
    const consent = first.body.consent as { id: string };
    assert.equal((await net().platform.withdrawConsent(consent.id)).status, 200);
    // the application had ended: the parties are told at once, and the payloads erased now
    const acked = await until('notices acknowledged', async () => {
      const n = await net().db('notices').where({ application_id: first.applicationId }).whereNotNull('acknowledged_at');
      return n.length === 2 ? n : undefined;
    });
    assert.deepEqual(acked.map((n) => n.kind), ['consent_withdrawn', 'consent_withdrawn']);
    await waitForState(net().platform, first.applicationId, ['payloads_erased']);
    const again = net().platform.prepare(GOOD, SUZHOU, { consent: first.body.consent as never });
    const res = await net().platform.submit(again);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'CONSENT_WITHDRAWN');
    assert.ok((await refusals(net().db, { code: 'CONSENT_WITHDRAWN' })).some((r) => r.stage === 'intake'));
  });

  it('takes consent as an object: registered, cited by id, read with its history, withdrawn for one bank only', async () => {
    const consent = net().platform.consentFor([HANGZHOU, SUZHOU]);
    const created = await net().platform.registerConsent(consent);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.state, 'granted');
    assert.equal((await net().platform.registerConsent(consent)).status, 200, 'registering the same terms again is idempotent');
    const changed = await net().platform.registerConsent({ ...consent, purposes: ['marketing'] });
    assert.equal(changed.body.error.code, 'CONSENT_MISMATCH');
    const { deviceDigest: _d, ...noDevice } = consent;
    assert.equal((await net().platform.registerConsent({ ...noDevice, id: `${consent.id}-b` })).body.error.code, 'REQUEST_MALFORMED');

    const unknown = net().platform.prepare(GOOD, SUZHOU);
    const res = await net().platform.submit(citing(unknown, 'consent_nobody_registered'));
    assert.equal(res.body.error.code, 'CONSENT_NOT_FOUND');
    assert.equal(res.status, 404);

    const partial = await net().platform.withdrawConsent(consent.id, { recipients: [HANGZHOU] });
    assert.equal(partial.status, 200, JSON.stringify(partial.body));
    assert.equal(partial.body.state, 'partially_withdrawn');
    const view = await net().platform.request('GET', `/v1/consents/${consent.id}`);
    assert.deepEqual(view.body.recipients.map((r: { party: string; state: string }) => `${r.party}:${r.state}`), [`${DEV.channel}:granted`, `${HANGZHOU}:withdrawn`, `${SUZHOU}:granted`]);
    assert.deepEqual(view.body.history.map((h: { state: string }) => h.state), ['granted', 'withdrawn']);

    // an application citing the consent by id: to the withdrawn bank, refused; to the other, it flows
    const toWithdrawn = net().platform.prepare(GOOD, HANGZHOU, { consent });
    const refused = await net().platform.submit(citing(toWithdrawn, consent.id));
    assert.equal(refused.body.error.code, 'CONSENT_WITHDRAWN', JSON.stringify(refused.body));
    const toOther = net().platform.prepare(GOOD, SUZHOU, { consent });
    const ok = await net().platform.submit(citing(toOther, consent.id));
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    await waitForState(net().platform, toOther.applicationId, ['platform_notified']);
    assert.equal(net().platform.decisions.get(toOther.applicationId)?.outcome.status, 'approved');

    // another platform's consent does not exist for this one; the channel cannot register one
    const other = await net().platform.request('GET', '/v1/consents/consent_of_nobody');
    assert.equal(other.body.error.code, 'CONSENT_NOT_FOUND');
  });

  it('names the channel product, the bank and its model behind each decision (PIPL Art. 24)', async () => {
    const app = net().platform.prepare(GOOD, SUZHOU);
    assert.equal((await net().platform.submit(app)).status, 202);
    await waitForState(net().platform, app.applicationId, ['platform_notified']);
    const res = await net().platform.request('GET', `/v1/applications/${app.applicationId}/provenance`);
    assert.equal(res.status, 200);
    assert.equal(res.body.model, 'data_channel');
    assert.equal(res.body.decisions.length, 1);
    const d = res.body.decisions[0];
    assert.equal(d.bank, SUZHOU);
    assert.equal(d.outcome, 'approved');
    assert.equal(d.channel, DEV.channel);
    assert.deepEqual(d.channelProduct, { name: 'DZL-CreditScore', version: '2026.11' });
    assert.deepEqual(d.bankModel, { name: 'DZL-RefBank-Policy', version: '2026.11' });
    assert.equal(d.creditReportReceived, true);
  });
});

describe('redirect model: the bank’s own consent, and its withdrawal — real Temporal, gRPC, HTTP, MariaDB', function () {
  this.timeout(120_000);
  const net = useNetwork('mysql', 'bankconsent', {
      banks: { [SUZHOU]: { asyncAfterMs: 6000, decisionTimeoutMs: 60_000 } },
      retention: { approvedMs: 3_600_000, otherMs: 3_600_000 },
    });
  const RISK = Object.fromEntries(Object.entries(GOOD).filter(([k]) => k.startsWith('risk.')));

  it('records the consent given on the bank’s page; the bank’s withdrawal stops the application and the channel is told', async () => {
    const started = await net().platform.startRedirect(SUZHOU, RISK);
    assert.equal(started.submitted.status, 202, JSON.stringify(started.submitted.body));
    const page = new URL(started.redirectUrl);
    const form = new URLSearchParams({ token: started.token, name: '钱同意', idNumber: '330102199201014527', mobile: '13600002222', amount: '30000', term: '12', consent: 'yes' });
    const res = await fetch(`${page.origin}/h5/apply`, { method: 'POST', body: form, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 302, await res.text());
    const bank = net().banks.get(SUZHOU)!;
    const seenAtBank = net().events.get(SUZHOU)!;
    await until('the bank to hold the credit report', () => seenAtBank.received.includes(started.applicationId));

    const consentId = bank.consentIdFor(started.applicationId);
    const seen = await net().platform.request('GET', `/v1/consents/${consentId}`);
    assert.equal(seen.body.error.code, 'CONSENT_NOT_FOUND', 'the bank’s consent is the bank’s: the platform does not see it');
    const withdrawn = await bank.withdrawConsent(started.applicationId);
    assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
    assert.equal(withdrawn.body.state, 'withdrawn');
    assert.equal((withdrawn.body.consent as { createdBy: string }).createdBy, SUZHOU);
    assert.deepEqual(withdrawn.body.applications, [{ applicationId: started.applicationId, stopped: true }]);

    const { body } = await waitForState(net().platform, started.applicationId, ['withdrawn']);
    assert.equal(body.model, 'direct_redirect');
    assert.equal(seenAtBank.submitted.size, 0, 'stopped before the bank decided');
    assert.ok(net().events.get(net().channel.partyId)!.notices.some((n) => n.applicationId === started.applicationId && n.kind === 'consent_withdrawn'));
    assert.equal(await bank.h5Application(started.applicationId), undefined, 'the bank deleted what the customer typed on its page');
    verifies(net(), await applicationBundle(net().db, net().router.regulator.log, started.applicationId));
  });
});

describe('retention and deletion — real Temporal, gRPC, HTTP, SQLite', function () {
  this.timeout(120_000);
  const net = useNetwork('sqlite', 'retention', { retention: { approvedMs: 2500, otherMs: 1000 } });

  it('erases a declined application’s sealed payloads after its retention, asks the parties to delete, and still verifies', async () => {
    const app = net().platform.prepare(FRAUD, HANGZHOU);
    assert.equal((await net().platform.submit(app)).status, 202);
    await waitForState(net().platform, app.applicationId, ['platform_notified']);
    const hopIds = (await net().db('sealed_hops').where({ application_id: app.applicationId })).map((r) => r.hop_id as string);
    assert.equal(hopIds.length, 3);
    const before = await getSealedHop(net().db, hopIds[0]!);
    assert.ok(before?.sealed.ciphertext, 'held sealed until retention elapses');
    const { body } = await waitForState(net().platform, app.applicationId, ['payloads_erased'], 20_000);
    assert.ok(!(body.decision as { hop?: unknown }).hop, 'the status no longer carries the erased decision hop');
    for (const id of hopIds) {
      const h = await getSealedHop(net().db, id);
      assert.ok(h?.erasedAt, `hop ${id} erased`);
      assert.deepEqual(Object.keys(h!.sealed).sort(), ['header', 'signature'], 'only the signed header stays');
    }
    await until('delete notices acknowledged', async () => {
      const n = await net().db('notices').where({ application_id: app.applicationId, kind: 'delete_data' }).whereNotNull('acknowledged_at');
      return n.length === 2 ? n : undefined;
    });
    assert.ok(net().events.get(HANGZHOU)!.notices.some((n) => n.applicationId === app.applicationId && n.kind === 'delete_data' && n.reason === 'DECLINED'));
    const leaves = await leavesOfApplication(net().db, app.applicationId);
    const deletion = leaves.find((l) => l.kind === 'deletion')!.leaf as { hops: string[]; reason: string };
    assert.deepEqual([...deletion.hops].sort(), [...hopIds].sort());
    assert.equal(deletion.reason, 'DECLINED');
    verifies(net(), await applicationBundle(net().db, net().router.regulator.log, app.applicationId));
    assert.deepEqual((await statesOf(net().db, app.applicationId)).map((s) => s.state), ['accepted', 'credit_report_sealed', 'declined', 'platform_notified', 'payloads_erased']);
  });

  it('leaves none of a deleted application’s personal data in any store: router, Temporal, logs, the parties’ stores', async () => {
    // a customer no other test uses, so a hit could only come from this application
    const tag = String(Date.now()).slice(-8);
    const customer = { ...FRAUD, 'customer.name': `删除测试${tag}`, 'customer.idNumber': `4401061990${tag}`, 'customer.mobile': `139${tag}` };
    const values = [customer['customer.name'], customer['customer.idNumber'], customer['customer.mobile']] as string[];
    const app = net().platform.prepare(customer, HANGZHOU);
    assert.equal((await net().platform.submit(app)).status, 202);
    await waitForState(net().platform, app.applicationId, ['platform_notified']);
    // while held: the parties really have the data (decrypted from their vaults), never in plaintext at rest
    const reports = await net().banks.get(HANGZHOU)!.creditReports(app.applicationId);
    assert.equal(reports[0]?.['customer.idNumber'], customer['customer.idNumber'], 'the bank held the credit report');
    assert.ok(await net().stores.get(DEV.channel)!.vault.has(app.applicationId), 'the channel held the application');
    const partyData = [...net().stores.values()].flatMap((st) => [st.dbFile, `${st.dbFile}-wal`]);
    assert.deepEqual(scanForPlaintext(partyData, values).hits, [], 'the parties’ stores are encrypted at rest');

    await waitForState(net().platform, app.applicationId, ['payloads_erased'], 20_000);
    await until('delete notices acknowledged', async () => {
      const n = await net().db('notices').where({ application_id: app.applicationId, kind: 'delete_data' }).whereNotNull('acknowledged_at');
      return n.length === 2 ? n : undefined;
    });
    for (const [party, st] of net().stores) assert.equal(await st.vault.has(app.applicationId), false, `${party} deleted the application`);
    assert.deepEqual(await net().banks.get(HANGZHOU)!.creditReports(app.applicationId), []);

    const dump = await dumpDatabase(net().db);
    assert.ok(dump.includes(app.applicationId), 'the router store was read (it still holds the evidence)');
    for (const v of values) assert.ok(!dump.includes(v), `router store holds ${v}`);
    const scan = scanForPlaintext([env.temporal!.dbFile, `${env.temporal!.dbFile}-wal`, join(RUN_DIR, 'logs'), ...partyData], values);
    assert.ok(scan.bytes > 100_000 && scan.files >= 4, 'Temporal’s database, the logs and the parties’ stores were read');
    assert.deepEqual(scan.hits, []);
  });

  it('rotates a party’s at-rest key while it runs: old records stay readable, new ones use the new key, re-encryption leaves one key', async () => {
    const st = net().stores.get(SUZHOU)!;
    const bank = net().banks.get(SUZHOU)!;
    const first = net().platform.prepare(GOOD, SUZHOU);
    assert.equal((await net().platform.submit(first)).status, 202);
    await waitForState(net().platform, first.applicationId, ['platform_notified']);
    const oldKey = st.keyring.primary().id;
    // another process (the operator's `dzl keyring rotate`) rotates the file the party reads
    const rotated = Keyring.open(st.keyring.path).rotate().id;
    assert.notEqual(rotated, oldKey);
    await new Promise((r) => setTimeout(r, 1100)); // the party re-reads its keyring at most once a second
    const second = net().platform.prepare(GOOD, SUZHOU);
    assert.equal((await net().platform.submit(second)).status, 202);
    await waitForState(net().platform, second.applicationId, ['platform_notified']);
    const before = await st.vault.stats();
    assert.ok((before.byKey[oldKey] ?? 0) > 0 && (before.byKey[rotated] ?? 0) > 0, JSON.stringify(before));
    while ((await st.vault.reencrypt()) > 0);
    assert.deepEqual(Object.keys((await st.vault.stats()).byKey), [rotated]);
    assert.equal((await bank.creditReports(first.applicationId))[0]?.['product.name'], 'DZL-CreditScore', 'a record written under the old key reads after re-encryption');
    assert.equal((await bank.creditReports(second.applicationId)).length, 1);
  });

  it('keeps an approved application longer and does not ask the bank to delete a loan it granted', async () => {
    const app = net().platform.prepare(GOOD, SUZHOU);
    assert.equal((await net().platform.submit(app)).status, 202);
    await waitForState(net().platform, app.applicationId, ['platform_notified']);
    const erasedAt = await until('retention', async () => (await statesOf(net().db, app.applicationId)).find((s) => s.state === 'payloads_erased'), 20_000);
    const notified = (await statesOf(net().db, app.applicationId)).find((s) => s.state === 'platform_notified')!;
    assert.ok(erasedAt.at - notified.at >= 2000, 'approved applications keep the longer retention');
    assert.equal((await net().db('notices').where({ application_id: app.applicationId })).length, 0);
    verifies(net(), await applicationBundle(net().db, net().router.regulator.log, app.applicationId));
  });
});

describe('minimisation at the router — real Temporal, gRPC, HTTP, SQLite', function () {
  this.timeout(120_000);
  // a channel that forwards the customer's income: an application element, lawful on this route by
  // origin, but not one the policy gives a bank in the data-channel model
  const net = useNetwork('sqlite', 'minimise', { channels: { [DEV.channel]: { policy: leakingChannel(['customer.monthlyIncome']) } } });

  it('refuses a credit report carrying more than the policy gives that bank (FIELD_EXCEEDS_MINIMISATION), and records it', async () => {
    const app = net().platform.prepare(GOOD, HANGZHOU);
    assert.equal((await net().platform.submit(app)).status, 202);
    const { body } = await waitForState(net().platform, app.applicationId, ['refused']);
    assert.equal((body.history as { state: string; reasonCode?: string }[]).find((s) => s.state === 'refused')?.reasonCode, 'FIELD_EXCEEDS_MINIMISATION');
    assert.ok(!net().events.get(HANGZHOU)!.received.includes(app.applicationId), 'the bank never received the report');
    const r = await refusals(net().db, { applicationId: app.applicationId, code: 'FIELD_EXCEEDS_MINIMISATION' });
    assert.equal(r.length, 1);
    assert.match(r[0]!.message, /customer\.monthlyIncome/);
    assert.doesNotMatch(r[0]!.message, new RegExp(String(GOOD['customer.monthlyIncome'])), 'the refusal names the field, never its value');
  });
});
