import { strict as assert } from 'node:assert';
import { b64url, fromB64url } from '../../services/seal/bytes';
import { canonicalJson } from '../../services/seal/canonical';
import { hopsOfApplication, leavesOfApplication, refusals, whoSawWhat } from '../../services/ledger/ledger';
import { fieldsOfOrigin, classOf } from '../../services/fields/catalogue';
import { SAMPLE_CUSTOMERS, sensitiveValues } from '../../services/parties/samples';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { sealHop, newSalt, type SealedHop } from '../../services/seal/hop';
import { scanForPlaintext } from '../../services/demo/scan';
import { statesOf } from '../../services/store/applicationStates';
import { ensureNetwork, env, RUN_DIR, temporalAddress, workflowBundle } from '../support/env';
import { leakingChannel } from '../support/hostile';
import { strangerIdentity } from '../support/fixtures';
import { dumpDatabase } from '../support/scan';
import { freshStore, STORE_KINDS } from '../support/stores';

const [GOOD, FRAUD] = SAMPLE_CUSTOMERS;
const BANK = DEV.banks[0];

for (const kind of STORE_KINDS) {
  describe(`data channel end to end — real Temporal, gRPC, HTTP, ${kind === 'mysql' ? 'MariaDB' : 'SQLite'}`, function () {
    this.timeout(120_000);
    let net: LocalNetwork;
    let drop: () => Promise<void>;
    let firstApp: string;

    before(async () => {
      const store = await freshStore(kind, 'flow');
      drop = store.drop;
      net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle() });
    });
    after(async () => {
      await net?.close();
      await drop?.();
    });

    const expectRefusal = async (res: { status: number; body: { error?: { code: string; message: string } } }, code: string, status?: number) => {
      assert.equal(res.body.error?.code, code, JSON.stringify(res.body));
      assert.ok(res.body.error!.message.length > 20, 'the message tells the platform engineer what to do');
      if (status) assert.equal(res.status, status);
      // a caller that proved no identity (an unreadable body comes before its signature) is aggregated noise
      await net.router.flushNoise();
      assert.ok((await refusals(net.db, { code: code as never })).length >= 1, `refusal ${code} is recorded`);
    };

    it('carries an application platform → channel → bank → platform, answering by signed callback and by status', async () => {
      const app = net.platform.prepare(GOOD!.fields, BANK);
      const res = await net.platform.submit(app);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.applicationId, app.applicationId);
      firstApp = app.applicationId;
      const { body } = await waitForState(net.platform, app.applicationId, ['platform_notified']);
      const byCallback = net.platform.decisions.get(app.applicationId);
      assert.ok(byCallback, 'the platform received the decision on its callback URL');
      assert.equal(byCallback.outcome.status, 'approved');
      assert.ok(Number(byCallback.fields['decision.limit']) > 0);
      const byStatus = net.platform.openDecision((body.decision as { hop: SealedHop }).hop);
      assert.deepEqual(byStatus.fields, byCallback.fields, 'the status endpoint serves the same sealed decision');
      assert.deepEqual((await statesOf(net.db, app.applicationId)).map((s) => s.state), ['accepted', 'credit_report_sealed', 'approved', 'platform_notified']);
    });

    it('gives the channel what it needs and the bank never the platform’s raw risk fields; the router sees nothing', async () => {
      const hops = await hopsOfApplication(net.db, firstApp);
      assert.deepEqual(hops.map((h) => `${h.header.kind}:${h.header.from}>${h.header.to}`), [
        `application:${DEV.platform}>${DEV.channel}`,
        `credit_report:${DEV.channel}>${BANK}`,
        `decision:${BANK}>${DEV.platform}`,
      ]);
      const [toChannel, toBank] = hops;
      assert.deepEqual(toChannel!.header.manifest.map((m) => m.field), Object.keys(GOOD!.fields).sort(), 'the channel receives every application and risk field');
      const bankFields = toBank!.header.manifest.map((m) => m.field);
      for (const f of fieldsOfOrigin('platform_risk')) assert.ok(!bankFields.includes(f), `bank must not receive ${f}`);
      for (const f of ['customer.name', 'customer.idNumber', 'loan.amount', 'product.score', 'product.version']) assert.ok(bankFields.includes(f), `bank needs ${f}`);
      for (const h of hops) assert.deepEqual(h.receipts.map((r) => [r.by, r.status]), [[h.header.to, 'accepted']], 'each hop has its recipient’s signed receipt');
      const matrix = whoSawWhat(hops, [DEV.platform, DEV.channel, BANK, 'router']);
      for (const row of matrix.fields) {
        assert.ok(!row.seenBy.includes('router'), `router must not see ${row.field}`);
        if (row.field.startsWith('risk.')) assert.deepEqual(row.seenBy, [DEV.platform, DEV.channel]);
      }
    });

    it('answers the same idempotency key and body with the same application and no second workflow', async () => {
      const app = net.platform.prepare(FRAUD!.fields, BANK);
      const first = await net.platform.submit(app);
      assert.equal(first.status, 202);
      const handle = net.router.temporal.workflow.getHandle(first.body.workflowId);
      const runId = (await handle.describe()).runId;
      const again = await net.platform.submit(app);
      assert.equal(again.status, 200);
      assert.deepEqual({ ...again.body, state: undefined, replayed: undefined }, { ...first.body, state: undefined, replayed: undefined });
      assert.equal(again.body.replayed, true);
      assert.equal((await handle.describe()).runId, runId, 'no second run was started');
      const { state } = await waitForState(net.platform, app.applicationId, ['platform_notified']);
      assert.equal(state, 'platform_notified');
      assert.equal(net.platform.decisions.get(app.applicationId)?.outcome.reasonCode, 'ANTI_FRAUD_REJECT');
      const leaves = await leavesOfApplication(net.db, app.applicationId);
      assert.equal(leaves.filter((l) => l.kind === 'hop').length, 3, 'exactly three hops, however often it was submitted');
    });

    it('refuses a reused idempotency key with a different body: IDEMPOTENCY_KEY_REUSED', async () => {
      const app = net.platform.prepare(GOOD!.fields, BANK);
      assert.equal((await net.platform.submit(app)).status, 202);
      const other = net.platform.prepare(GOOD!.fields, BANK);
      await expectRefusal(await net.platform.submit({ ...other, idempotencyKey: app.idempotencyKey }), 'IDEMPOTENCY_KEY_REUSED', 409);
      await waitForState(net.platform, app.applicationId, ['platform_notified']);
    });

    it('refuses tampered, unsigned, replayed, expired, misaddressed, oversized and malformed input, each with its code, recorded', async () => {
      const fresh = () => net.platform.prepare(GOOD!.fields, BANK);
      const withHop = (hop: SealedHop) => {
        const a = fresh();
        return { ...a, body: { ...a.body, hop } };
      };
      // tampered header: another recipient written in after signing
      const t = fresh();
      const h = JSON.parse(fromB64url(t.body.hop.header)!.toString('utf8'));
      h.channel = 'channel-pudao';
      await expectRefusal(await net.platform.submit(withHop({ ...t.body.hop, header: b64url(canonicalJson(h)) })), 'HOP_SIGNATURE_INVALID', 401);
      // tampered ciphertext
      const c = fresh();
      const ct = fromB64url(c.body.hop.ciphertext)!;
      ct[5] ^= 0xff;
      await expectRefusal(await net.platform.submit(withHop({ ...c.body.hop, ciphertext: b64url(ct) })), 'HOP_CIPHERTEXT_TAMPERED', 400);
      // unknown signer
      const directory = net.router.directory.get();
      const stranger = sealHop(strangerIdentity(), {
        applicationId: `${DEV.platform}:app_stranger`, kind: 'application', model: 'data_channel', to: directory.encryptionCertificate(DEV.channel),
        platform: DEV.platform, channel: DEV.channel, consentRef: t.body.consent.id, fields: GOOD!.fields, salt: newSalt(), classOf,
      });
      await expectRefusal(await net.platform.submit({ ...t, idempotencyKey: 'idem-stranger-1', body: { ...t.body, hop: stranger.sealed } }), 'HOP_SIGNER_UNKNOWN', 401);
      // wrong recipient: personal data sealed straight for a bank
      const direct = sealHop(net.platform['opts'].identity.signing, {
        applicationId: `${DEV.platform}:app_direct`, kind: 'application', model: 'data_channel', to: directory.encryptionCertificate(BANK),
        platform: DEV.platform, channel: DEV.channel, consentRef: t.body.consent.id, fields: GOOD!.fields, salt: newSalt(), classOf,
      });
      await expectRefusal(await net.platform.submit({ ...t, idempotencyKey: 'idem-direct-1', body: { ...t.body, hop: direct.sealed } }), 'DIRECT_CONNECTION_REFUSED', 403);
      // misaddressed: sealed for the channel's name but another party's encryption key
      const wrongKey = sealHop(net.platform['opts'].identity.signing, {
        applicationId: `${DEV.platform}:app_wrongkey`, kind: 'application', model: 'data_channel',
        to: { ...directory.encryptionCertificate(DEV.channel), publicKey: directory.encryptionCertificate(BANK).publicKey, keyId: directory.encryptionCertificate(BANK).keyId },
        platform: DEV.platform, channel: DEV.channel, consentRef: t.body.consent.id, fields: GOOD!.fields, salt: newSalt(), classOf,
      });
      await expectRefusal(await net.platform.submit({ ...t, idempotencyKey: 'idem-wrongkey-1', body: { ...t.body, hop: wrongKey.sealed } }), 'HOP_NOT_FOR_RECIPIENT', 421);
      // replayed: an accepted hop submitted again under a new key
      const accepted = fresh();
      assert.equal((await net.platform.submit(accepted)).status, 202);
      await expectRefusal(await net.platform.submit({ ...accepted, idempotencyKey: `${accepted.idempotencyKey}-again` }), 'HOP_REPLAYED', 409);
      // stale issued-at
      await expectRefusal(await net.platform.submit(net.platform.prepare(GOOD!.fields, BANK, { now: new Date(Date.now() - 10 * 60_000) })), 'HOP_EXPIRED', 400);
      // a bank the consent does not name
      const unnamed = fresh();
      await expectRefusal(await net.platform.submit({ ...unnamed, body: { ...unnamed.body, route: { bank: DEV.banks[1] } } }), 'CONSENT_DOES_NOT_NAME_RECIPIENT', 403);
      // oversized, malformed, unsigned
      const big = fresh();
      await expectRefusal(await net.platform.submit({ ...big, body: { ...big.body, padding: 'x'.repeat(300_000) } as never }), 'REQUEST_TOO_LARGE', 413);
      await expectRefusal(await net.platform.submit({ ...big, body: { ...big.body, hop: { header: 'not base64!' } as never } }), 'HOP_MALFORMED', 400);
      // an application id already taken, and a consent id re-declared with other terms
      const taken = fresh();
      const reused = sealHop(net.platform['opts'].identity.signing, {
        applicationId: accepted.applicationId, kind: 'application', model: 'data_channel', to: directory.encryptionCertificate(DEV.channel),
        platform: DEV.platform, channel: DEV.channel, consentRef: taken.body.consent.id, fields: GOOD!.fields, salt: newSalt(), classOf,
      });
      await expectRefusal(await net.platform.submit({ ...taken, body: { ...taken.body, hop: reused.sealed } }), 'REQUEST_MALFORMED', 400);
      const changed = fresh();
      const sameId = { ...changed.body.consent, id: accepted.body.consent.id, purposes: ['marketing'] };
      await expectRefusal(await net.platform.submit({ ...changed, body: { ...changed.body, consent: sameId } }), 'CONSENT_MISMATCH', 409);
      const nowhere = await net.platform.request('GET', '/v1/nowhere');
      assert.equal(nowhere.status, 404);
      assert.equal(nowhere.body.error.code, 'ENDPOINT_NOT_FOUND');
      const unsigned = await fetch(`${net.router.url}/v1/applications`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'idempotency-key': 'idem-unsigned-1' } });
      await expectRefusal({ status: unsigned.status, body: (await unsigned.json()) as never }, 'REQUEST_UNAUTHENTICATED', 401);
      // nothing already accepted was lost or changed
      await waitForState(net.platform, accepted.applicationId, ['platform_notified']);
      assert.deepEqual((await statesOf(net.db, firstApp)).map((s) => s.state), ['accepted', 'credit_report_sealed', 'approved', 'platform_notified']);
      assert.equal((await leavesOfApplication(net.db, firstApp)).filter((l) => l.kind === 'hop').length, 3);
    });

    it('keeps no customer name, ID number or mobile in plaintext in the router’s store, Temporal’s database or the logs', async () => {
      const values = sensitiveValues();
      const dump = await dumpDatabase(net.db);
      assert.ok(dump.length > 10_000, 'the store holds the flows just run');
      for (const v of values) assert.ok(!dump.includes(v), `router store holds ${v}`);
      const scan = scanForPlaintext([env.temporal!.dbFile, `${env.temporal!.dbFile}-wal`, `${RUN_DIR}/logs`, `${RUN_DIR}/tmp`], values);
      assert.ok(scan.bytes > 100_000, 'the Temporal database was read');
      assert.deepEqual(scan.hits, []);
    });
  });
}

describe('a channel that would forward platform risk fields to the bank', function () {
  this.timeout(120_000);
  let net: LocalNetwork;
  before(async () => {
    const store = await freshStore('sqlite', 'leak');
    net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle(), channels: { [DEV.channel]: { policy: leakingChannel(['risk.platformScore']) } } });
  });
  after(async () => net?.close());

  it('is stopped at the router: the bank receives nothing and the refusal is evidence', async () => {
    const app = net.platform.prepare(GOOD!.fields, BANK);
    assert.equal((await net.platform.submit(app)).status, 202);
    const { body } = await waitForState(net.platform, app.applicationId, ['refused']);
    assert.equal((body.history as { state: string; reasonCode?: string }[]).find((s) => s.state === 'refused')?.reasonCode, 'FIELD_NOT_ALLOWED_FOR_RECIPIENT');
    assert.equal(net.events.get(BANK)!.decisions.length, 0, 'the bank never received the hop');
    const r = await refusals(net.db, { applicationId: app.applicationId });
    assert.equal(r.length, 1);
    assert.equal(r[0]!.code, 'FIELD_NOT_ALLOWED_FOR_RECIPIENT');
    assert.match(r[0]!.message, /risk\.platformScore/);
  });
});
