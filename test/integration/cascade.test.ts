import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { hopsOfApplication, leavesOfApplication, refusals } from '../../services/ledger/ledger';
import { clientCredentials, hopToWire, loadDzlProtos, unaryCall } from '../../services/grpc/transport';
import { loadPartyIdentity } from '../../services/network/folder';
import { getSealedHop } from '../../services/store/sealedHops';
import { applicationBundle } from '../../services/ledger/bundles';
import { verifyBundle } from '../../services/evidence/verify';
import type { BankDecision } from '../../services/parties/bank';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork, type LocalNetworkOptions } from '../../services/runtime/localNetwork';
import { setChannelLicence } from '../../services/operator/registry';
import { ensureNetwork, env, ROOT, temporalAddress, workflowBundle } from '../support/env';
import { freshStore, type StoreKind } from '../support/stores';

const [HANGZHOU, SUZHOU, NINGBO, WENZHOU] = DEV.banks;
const GOOD = SAMPLE_CUSTOMERS[0]!.fields;
const FRAUD = SAMPLE_CUSTOMERS[1]!.fields;
const ATTRIBUTES = { attributes: { amount: 5_000_000, termMonths: 12, region: 'ZJ' } };
const declineAll = (): BankDecision => ({
  outcome: { status: 'declined', reasonCode: 'POLICY_DECLINE' },
  fields: { 'decision.status': 'declined', 'decision.reasonCode': 'POLICY_DECLINE' },
});

async function network(kind: StoreKind, suite: string, opts: Partial<LocalNetworkOptions>): Promise<{ net: LocalNetwork; drop: () => Promise<void> }> {
  const store = await freshStore(kind, suite);
  const net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle(), ...opts });
  return { net, drop: store.drop };
}

describe('funding cascade (资方路由) — real Temporal, gRPC, HTTP, MariaDB', function () {
  this.timeout(120_000);
  let net: LocalNetwork;
  let drop: () => Promise<void>;
  before(async () => ({ net, drop } = await network('mysql', 'cascade', { banks: { [HANGZHOU]: { policy: declineAll } } })));
  after(async () => {
    await net?.close();
    await drop?.();
  });

  it('moves on when bank A declines; bank B approves; bank C, not named by the consent, receives nothing', async () => {
    const consent = net.platform.consentFor([HANGZHOU, SUZHOU]);
    const app = net.platform.prepare(GOOD, ATTRIBUTES, { consent });
    const res = await net.platform.submit(app);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.route.candidates, [HANGZHOU, SUZHOU]);
    assert.deepEqual(res.body.route.skipped, [
      { bankId: NINGBO, reason: 'CONSENT_DOES_NOT_NAME_RECIPIENT' },
      { bankId: WENZHOU, reason: 'CONSENT_DOES_NOT_NAME_RECIPIENT' },
    ]);
    const { body } = await waitForState(net.platform, app.applicationId, ['platform_notified']);
    assert.equal((body.decision as { status: string }).status, 'approved');
    assert.deepEqual(body.route, [
      { bank: HANGZHOU, position: 0, outcome: 'declined', reasonCode: 'POLICY_DECLINE' },
      { bank: SUZHOU, position: 1, outcome: 'approved' },
    ]);
    assert.equal(net.platform.decisions.get(app.applicationId)?.outcome.status, 'approved');
    assert.ok(net.events.get(HANGZHOU)!.received.includes(app.applicationId));
    assert.ok(net.events.get(SUZHOU)!.received.includes(app.applicationId));
    assert.ok(!net.events.get(NINGBO)!.received.includes(app.applicationId), 'a bank the consent does not name receives nothing');
    const hops = await hopsOfApplication(net.db, app.applicationId);
    assert.deepEqual(hops.map((h) => `${h.header.kind}:${h.header.from}>${h.header.to}`), [
      `application:${DEV.platform}>${DEV.channel}`,
      `credit_report:${DEV.channel}>${HANGZHOU}`,
      `decision:${HANGZHOU}>${DEV.platform}`,
      `credit_report:${DEV.channel}>${SUZHOU}`,
      `decision:${SUZHOU}>${DEV.platform}`,
    ], 'each bank reached only through the channel');
    const bundle = await applicationBundle(net.db, net.router.regulator.log, app.applicationId);
    const report = verifyBundle({ bundle, caPem: net.router.directory.get().caPem, routerVkey: net.router.regulator.trust.routerVkey, origin: net.router.regulator.trust.origin });
    assert.ok(report.ok, report.failures.join('\n'));
  });

  it('ends in no funding when every consented bank declines', async () => {
    const consent = net.platform.consentFor([HANGZHOU, SUZHOU]);
    const app = net.platform.prepare(FRAUD, ATTRIBUTES, { consent });
    assert.equal((await net.platform.submit(app)).status, 202);
    const { body } = await waitForState(net.platform, app.applicationId, ['platform_notified']);
    assert.deepEqual(body.decision, { ...(body.decision as object), status: 'no_funding', reasonCode: 'NO_FUNDING' });
    assert.deepEqual(net.platform.outcomes.get(app.applicationId), { outcome: 'no_funding', reasonCode: 'NO_FUNDING' });
  });

  it('routes through the channel each bank contracts with, and refuses a hop sealed for another', async () => {
    const viaPudao = net.platform.prepare(GOOD, WENZHOU, { channelId: 'channel-pudao' });
    assert.equal((await net.platform.submit(viaPudao)).status, 202);
    await waitForState(net.platform, viaPudao.applicationId, ['platform_notified']);
    const hops = await hopsOfApplication(net.db, viaPudao.applicationId);
    assert.equal(hops[1]!.header.from, 'channel-pudao');
    assert.equal(hops[1]!.header.to, WENZHOU);
    const wrong = net.platform.prepare(GOOD, HANGZHOU, { channelId: 'channel-pudao' });
    const refused = await net.platform.submit(wrong);
    assert.equal(refused.body.error.code, 'ROUTE_NOT_ALLOWED');
    assert.match(refused.body.error.message, /through channel-baihang/);
  });

  it('refuses a channel whose licence has expired, and records it', async () => {
    const baihang = net.router.directory.get().party(DEV.channel)!.licence!;
    await setChannelLicence(net.db, DEV.channel, { ...baihang, validUntil: '2025-12-31T23:59:59Z' });
    await net.router.directory.refresh();
    try {
      const res = await net.platform.submit(net.platform.prepare(GOOD, HANGZHOU));
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'CHANNEL_NOT_LICENSED');
      assert.ok((await refusals(net.db, { code: 'CHANNEL_NOT_LICENSED' })).length >= 1);
      const cascade = await net.platform.submit(net.platform.prepare(GOOD, ATTRIBUTES, { consent: net.platform.consentFor([HANGZHOU, SUZHOU]) }));
      assert.equal(cascade.body.error.code, 'CHANNEL_NOT_LICENSED');
    } finally {
      await setChannelLicence(net.db, DEV.channel, baihang);
      await net.router.directory.refresh();
    }
  });
});

describe('asynchronous decisions and decision timeouts — real Temporal, gRPC, HTTP, SQLite', function () {
  this.timeout(120_000);
  let net: LocalNetwork;
  let drop: () => Promise<void>;
  before(async () =>
    ({ net, drop } = await network('sqlite', 'async', {
      banks: { [HANGZHOU]: { asyncAfterMs: 2500, decisionTimeoutMs: 800 }, [SUZHOU]: { asyncAfterMs: 200, decisionTimeoutMs: 15_000 } },
    })),
  );
  after(async () => {
    await net?.close();
    await drop?.();
  });

  it('takes a decision submitted later over gRPC, within the bank’s timeout', async () => {
    const app = net.platform.prepare(GOOD, SUZHOU);
    assert.equal((await net.platform.submit(app)).status, 202);
    await waitForState(net.platform, app.applicationId, ['platform_notified']);
    assert.equal(net.platform.decisions.get(app.applicationId)?.outcome.status, 'approved');
    // the router's answer may reach the bank after the platform's callback
    for (let i = 0; i < 50 && net.events.get(SUZHOU)!.submitted.size === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const submitted = [...net.events.get(SUZHOU)!.submitted.values()];
    assert.deepEqual(submitted.at(-1), { accepted: true });
  });

  it('answers a resubmitted decision the same (idempotent on the decision id), adding nothing', async () => {
    const app = net.platform.prepare(GOOD, SUZHOU);
    assert.equal((await net.platform.submit(app)).status, 202);
    await waitForState(net.platform, app.applicationId, ['platform_notified']);
    const decision = (await hopsOfApplication(net.db, app.applicationId)).find((h) => h.header.kind === 'decision')!;
    const sealed = (await getSealedHop(net.db, decision.header.hopId))!.sealed;
    const { RouterService } = loadDzlProtos();
    const client = new RouterService(net.router.grpcAddress, clientCredentials(loadPartyIdentity(ensureNetwork(), SUZHOU), 'router'), { 'grpc.ssl_target_name_override': 'localhost' });
    try {
      const again = await unaryCall<object, { accepted: boolean; application_id: string }>(client, 'SubmitDecision', { decision_hop: hopToWire(sealed) }, 10_000);
      assert.deepEqual({ accepted: again.accepted, id: again.application_id }, { accepted: true, id: app.applicationId });
    } finally {
      client.close();
    }
    const leaves = await leavesOfApplication(net.db, app.applicationId);
    assert.equal(leaves.filter((l) => l.kind === 'hop').length, 3, 'no second decision hop');
    assert.equal((await refusals(net.db, { applicationId: app.applicationId })).length, 0);
  });

  it('moves to the next bank on a decision timeout, and refuses the late decision with DECISION_TOO_LATE', async () => {
    const app = net.platform.prepare(GOOD, ATTRIBUTES, { consent: net.platform.consentFor([HANGZHOU, SUZHOU]) });
    assert.equal((await net.platform.submit(app)).status, 202);
    const { body } = await waitForState(net.platform, app.applicationId, ['platform_notified']);
    assert.deepEqual(body.route, [
      { bank: HANGZHOU, position: 0, outcome: 'timeout', reasonCode: 'DECISION_TIMEOUT' },
      { bank: SUZHOU, position: 1, outcome: 'approved' },
    ]);
    const late = net.events.get(HANGZHOU)!;
    const deadline = Date.now() + 10_000;
    while (late.submitted.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual([...late.submitted.values()].at(-1), { accepted: false, code: 'DECISION_TOO_LATE' });
    const r = await refusals(net.db, { code: 'DECISION_TOO_LATE' });
    assert.equal(r.length, 1);
    assert.equal(r[0]!.applicationId, app.applicationId);
    const hops = await hopsOfApplication(net.db, app.applicationId);
    assert.equal(hops.filter((h) => h.header.kind === 'decision' && h.header.from === HANGZHOU).length, 1, 'the late hop is in the ledger, beside its refusal');
  });
  it('refuses a platform whose signing certificate was revoked, and logs the registry change', async () => {
    const keyId = (net.platform as unknown as { opts: { identity: { signing: { keyId: string } } } }).opts.identity.signing.keyId;
    const before = net.platform.prepare(GOOD, SUZHOU); // sealed before the revocation
    const cli = spawnSync(process.execPath, [join(ROOT, 'dist/services/cli/dzl.js'), 'revoke-certificate', keyId, '--db', net.cfg.dbUrl], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    await net.router.directory.refresh();
    const res = await net.platform.submit(before);
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'REQUEST_UNAUTHENTICATED');
    const snapshots = await net.db('evidence_leaves').where({ kind: 'party', party_id: DEV.platform }).orderBy('seq');
    const latest = JSON.parse(snapshots.at(-1)!.data as string) as { party: { revoked?: Record<string, string> } };
    assert.ok(latest.party.revoked?.[keyId], 'a registry snapshot records the revocation');
  });
});
