/**
 * The trust boundaries tried as an attacker would: a competing platform, a revoked bank and
 * regulator, a platform smuggling values in a redirect hop, a careless channel and bank, an
 * internal callback URL, a flood of unauthenticated requests — on the real stack (Temporal, gRPC
 * with mutual TLS, HTTP, MariaDB and SQLite). Each refusal is answered with its stable code, is
 * recorded, and leaves nothing behind.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { valueToken } from '../../services/common/redact';
import { classOf } from '../../services/fields/catalogue';
import { clientCredentials, fromGrpcError, loadDzlProtos, unaryCall } from '../../services/grpc/transport';
import { refusals } from '../../services/ledger/ledger';
import { loadDirectory, loadPartyIdentity } from '../../services/network/folder';
import { revokeCertificate, setPartyEndpoint } from '../../services/operator/registry';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { ReferencePlatform } from '../../services/parties/platform';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork, type LocalNetworkOptions } from '../../services/runtime/localNetwork';
import { newSalt, sealHop } from '../../services/seal/hop';
import { checkRedirectHop, redirectSalt } from '../../services/seal/redirectToken';
import { getSealedHop } from '../../services/store/sealedHops';
import { ensureNetwork, env, temporalAddress, workflowBundle } from '../support/env';
import { hostileBank, misaddressingChannel } from '../support/hostile';
import { freshStore, type StoreKind } from '../support/stores';

const GOOD = SAMPLE_CUSTOMERS[0]!.fields;
const RIVAL = 'platform-jinhe';
const [HANGZHOU, SUZHOU] = ['bank-hangzhou', 'bank-suzhou'];

function useNetwork(kind: StoreKind, suite: string, opts: Partial<LocalNetworkOptions> = {}): () => LocalNetwork {
  let started: LocalNetwork | undefined;
  let drop: (() => Promise<void>) | undefined;
  before(async function () {
    this.timeout(120_000);
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

const codeOf = (res: { body: { error?: { code?: string } } }) => res.body.error?.code;

describe('hostile parties — real Temporal, gRPC (mTLS), HTTP', function () {
  this.timeout(120_000);

  describe('a competing platform attacks the first — MariaDB', () => {
    const net = useNetwork('mysql', 'tenancy');
    let rival: ReferencePlatform;
    before(() => {
      rival = new ReferencePlatform({ identity: loadPartyIdentity(ensureNetwork(), RIVAL), directory: () => loadDirectory(ensureNetwork()), routerUrl: net().router.url, channelId: DEV.channel });
    });

    it('cannot read, withdraw or cite the first platform’s application or consent — answered exactly as for an id that does not exist', async () => {
      const app = net().platform.prepare(GOOD, HANGZHOU);
      assert.equal((await net().platform.submit(app)).status, 202);
      await waitForState(net().platform, app.applicationId, ['platform_notified']);
      const consentId = (app.body.consent as { id: string }).id;
      const ghostApp = `${DEV.platform}:app_${randomUUID()}`;
      const ghostConsent = `${DEV.platform}:consent_${randomUUID()}`;
      for (const [real, ghost, path] of [
        [app.applicationId, ghostApp, (id: string) => `/v1/applications/${id}`],
        [app.applicationId, ghostApp, (id: string) => `/v1/applications/${id}/who-saw-what`],
        [consentId, ghostConsent, (id: string) => `/v1/consents/${id}`],
      ] as const) {
        const [a, b] = [await rival.request('GET', path(real)), await rival.request('GET', path(ghost))];
        assert.equal(a.status, 404);
        assert.deepEqual([a.status, codeOf(a)], [b.status, codeOf(b)], 'the same answer whether or not it exists');
      }
      const w = await rival.request('POST', `/v1/consents/${consentId}/withdraw`, { actedAt: new Date().toISOString() });
      assert.deepEqual([w.status, codeOf(w)], [404, 'CONSENT_NOT_FOUND']);
      // the first platform's consent still stands
      assert.equal((await net().platform.request('GET', `/v1/consents/${consentId}`)).body.state, 'granted');
      // citing it for its own application
      const cite = rival.prepare(GOOD, HANGZHOU);
      const res = await rival.submit({ ...cite, body: { ...cite.body, consent: undefined, consentId } as never });
      assert.deepEqual([res.status, codeOf(res)], [404, 'CONSENT_NOT_FOUND']);
    });

    it('cannot squat on the first platform’s ids: application and consent ids outside its namespace are refused before anything is stored', async () => {
      const squatted = `${DEV.platform}:app_${randomUUID()}`;
      const hop = sealHop(loadPartyIdentity(ensureNetwork(), RIVAL).signing, {
        applicationId: squatted, kind: 'application', model: 'data_channel', to: loadDirectory(ensureNetwork()).encryptionCertificate(DEV.channel),
        platform: RIVAL, channel: DEV.channel, consentRef: `${RIVAL}:consent_x`, fields: GOOD, salt: newSalt(), classOf,
      });
      const app = rival.prepare(GOOD, HANGZHOU);
      const res = await rival.submit({ ...app, body: { ...app.body, hop: hop.sealed } });
      assert.deepEqual([res.status, codeOf(res)], [403, 'ID_OUTSIDE_NAMESPACE']);
      assert.equal(await getSealedHop(net().db, hop.header.hopId), undefined, 'nothing entered custody');
      const consent = { ...rival.consentFor([HANGZHOU]), id: `${DEV.platform}:consent_${randomUUID()}` };
      const c = await rival.registerConsent(consent);
      assert.deepEqual([c.status, codeOf(c)], [403, 'ID_OUTSIDE_NAMESPACE']);
      assert.ok((await refusals(net().db, { code: 'ID_OUTSIDE_NAMESPACE' })).length >= 2, 'each refusal is evidence');
    });

    it('compares ids byte for byte on MariaDB: two consents differing only in case are two consents', async () => {
      const base = net().platform.consentFor([HANGZHOU]);
      const lower = { ...base, id: `${DEV.platform}:consent_case_a` };
      const upper = { ...base, id: `${DEV.platform}:CONSENT_CASE_A` };
      assert.equal((await net().platform.registerConsent(lower)).status, 201);
      assert.equal((await net().platform.registerConsent(upper)).status, 201, 'not taken for the first');
      assert.equal((await net().platform.request('GET', `/v1/consents/${upper.id}`)).body.consent.id, upper.id);
    });
  });

  describe('revoked certificates, on open and new connections — SQLite', () => {
    const net = useNetwork('sqlite', 'revocation');
    const { RouterService, RegulatorService } = loadDzlProtos();
    const client = (Ctor: grpc.ServiceClientConstructor, party: string) =>
      new Ctor(net().router.grpcAddress, clientCredentials(loadPartyIdentity(ensureNetwork(), party), 'router'), { 'grpc.ssl_target_name_override': 'localhost' });
    const codeOfCall = async (c: grpc.Client, method: string, req: object) => {
      try {
        await unaryCall(c, method, req, 5000);
        return 'OK';
      } catch (err) {
        return fromGrpcError(err)?.code ?? `grpc ${(err as grpc.ServiceError).code}`;
      }
    };
    const tlsKeyOf = (party: string) => loadDirectory(ensureNetwork()).party(party)!.certificates.find((c) => c.usage === 'tls')!.keyId;

    it('refuses a bank whose TLS certificate was revoked, on the connection it already had open and on a new one, within seconds', async () => {
      const open = client(RouterService, SUZHOU);
      // the connection works: a malformed decision is refused on its merits, not for who sent it
      assert.equal(await codeOfCall(open, 'SubmitDecision', { decision_hop: { header: Buffer.from('x') } }), 'HOP_MALFORMED');
      const revokedAt = Date.now();
      assert.ok(await revokeCertificate(net().db, tlsKeyOf(SUZHOU)));
      // the router reloads the registry every 5 s: within seconds, without a restart
      let code = '';
      while (Date.now() - revokedAt < 15_000 && (code = await codeOfCall(open, 'SubmitDecision', { decision_hop: { header: Buffer.from('x') } })) === 'HOP_MALFORMED') await new Promise((r) => setTimeout(r, 250));
      assert.equal(code, 'REQUEST_UNAUTHENTICATED', 'the open connection is refused');
      assert.ok(Date.now() - revokedAt < 15_000);
      const fresh = client(RouterService, SUZHOU);
      assert.equal(await codeOfCall(fresh, 'ClaimRedirect', { token: 'x' }), 'REQUEST_UNAUTHENTICATED', 'and so is a new one');
      const recorded = (await refusals(net().db, { code: 'REQUEST_UNAUTHENTICATED' })).filter((r) => r.from === SUZHOU && r.stage.startsWith('grpc RouterService.'));
      assert.ok(recorded.length >= 2, 'each refusal of an identified caller is recorded');
      open.close();
      fresh.close();
    });

    it('refuses a regulator whose TLS certificate was revoked, and a bank calling the regulator’s service', async () => {
      const reg = client(RegulatorService, 'regulator-pboc');
      assert.equal(await codeOfCall(reg, 'GetCheckpoint', {}), 'OK');
      const bankAsRegulator = client(RegulatorService, HANGZHOU);
      assert.equal(await codeOfCall(bankAsRegulator, 'GetCheckpoint', {}), 'PARTY_ROLE_MISMATCH');
      await revokeCertificate(net().db, tlsKeyOf('regulator-pboc'));
      await net().router.directory.refresh();
      assert.equal(await codeOfCall(reg, 'GetCheckpoint', {}), 'REQUEST_UNAUTHENTICATED');
      assert.ok((await refusals(net().db, { code: 'PARTY_ROLE_MISMATCH' })).some((r) => r.from === HANGZHOU));
      reg.close();
      bankAsRegulator.close();
    });
  });

  describe('a platform smuggling values to a bank in the redirect hop — MariaDB', () => {
    const net = useNetwork('mysql', 'smuggle');

    it('refuses a redirect hop that carries anything but the token it was issued — before custody, recorded — and the bank receives nothing', async () => {
      const p = net().platform;
      const issued = await p.request('POST', '/v1/redirects', { bank: SUZHOU, consent: { ...p.consentFor([SUZHOU]), recipients: [DEV.channel, SUZHOU] } });
      assert.equal(issued.status, 201, JSON.stringify(issued.body));
      const { applicationId, token } = issued.body as { applicationId: string; token: string };
      const me = loadPartyIdentity(ensureNetwork(), DEV.platform);
      const directory = loadDirectory(ensureNetwork());
      const consentRef = issued.body.consentId as string;
      const common = { applicationId, model: 'direct_redirect' as const, platform: DEV.platform, channel: DEV.channel, consentRef, classOf };
      const risk = sealHop(me.signing, { ...common, kind: 'application', to: directory.encryptionCertificate(DEV.channel), fields: { 'risk.platformScore': 700, 'redirect.token': token }, salt: newSalt() });
      const redirectTo = directory.encryptionCertificate(SUZHOU);
      const smuggled = [
        // an ID number appended to the token
        sealHop(me.signing, { ...common, kind: 'redirect', to: redirectTo, fields: { 'redirect.token': `${token}|330106199003154821` }, salt: redirectSalt(token) }),
        // the true token under a salt the platform chose (32 free bytes)
        sealHop(me.signing, { ...common, kind: 'redirect', to: redirectTo, fields: { 'redirect.token': token }, salt: redirectSalt(`${token}|13957112846`) }),
      ];
      for (const [i, hop] of smuggled.entries()) {
        assert.throws(() => checkRedirectHop({ header: hop.header, ciphertext: Buffer.from(hop.sealed.ciphertext, 'base64url') }, token));
        const res = await p.request('POST', `/v1/redirects/${encodeURIComponent(applicationId)}/hops`, { riskHop: risk.sealed, redirectHop: hop.sealed }, { 'idempotency-key': `idem-smuggle-${i}-${randomUUID()}` });
        assert.deepEqual([res.status, codeOf(res)], [403, 'DIRECT_CONNECTION_REFUSED'], JSON.stringify(res.body));
        assert.equal(await getSealedHop(net().db, hop.header.hopId), undefined);
        assert.equal(await getSealedHop(net().db, risk.header.hopId), undefined, 'neither hop entered custody');
      }
      assert.ok((await refusals(net().db, { code: 'DIRECT_CONNECTION_REFUSED' })).length >= 2);
      assert.equal(await net().banks.get(SUZHOU)!.redirectToken(applicationId), undefined, 'the bank holds nothing');
    });
  });

  describe('a careless bank and channel — SQLite', () => {
    const net = useNetwork('sqlite', 'careless', { banks: { [HANGZHOU]: { decisionTimeoutMs: 4000 } } });

    async function replaceEndpoint(party: string, address: string): Promise<void> {
      await setPartyEndpoint(net().db, party, { grpc: address });
      await net().router.directory.refresh();
      await net().worker!.directory.refresh();
    }

    for (const misbehaviour of ['garbage-decision', 'grpc-internal', 'decision-for-rival', 'approval-without-terms', 'receipt-naming-a-customer', 'silent'] as const) {
      it(`moves the cascade on past a bank that answers ${misbehaviour}, within that bank's decision timeout`, async () => {
        const bad = await hostileBank(loadPartyIdentity(ensureNetwork(), HANGZHOU), () => loadDirectory(ensureNetwork()), misbehaviour, RIVAL);
        const honestAddress = net().router.directory.get().party(HANGZHOU)!.grpcEndpoint!;
        await replaceEndpoint(HANGZHOU, bad.address);
        try {
          const app = net().platform.prepare(GOOD, { attributes: { amount: 3_000_000, termMonths: 12, region: '330000' } }, { consent: net().platform.consentFor([HANGZHOU, SUZHOU]) });
          const started = Date.now();
          assert.equal((await net().platform.submit(app)).status, 202);
          const { body } = await waitForState(net().platform, app.applicationId, ['platform_notified'], 60_000);
          const route = body.route as { bank: string; outcome?: string; reasonCode?: string }[];
          assert.equal(route[0]!.bank, HANGZHOU);
          assert.equal(route[0]!.outcome, misbehaviour === 'silent' ? 'timeout' : 'refused', JSON.stringify(route));
          if (misbehaviour === 'receipt-naming-a-customer') {
            const leaves = JSON.stringify(await refusals(net().db, { applicationId: app.applicationId }));
            for (const text of ['ZHANG SAN', '张三', 'E12345678', 'ZHANG_SAN']) assert.ok(!leaves.includes(text), `the ledger quotes the bank's receipt: ${leaves}`);
            assert.equal(route[0]!.reasonCode, 'RECEIPT_INVALID');
          }
          if (misbehaviour === 'approval-without-terms') assert.equal(route[0]!.reasonCode, 'HOP_MANIFEST_MISMATCH', 'refused by the router, before custody (envelope.md §15.4)');
          // a decision returned with the delivery and refused: the bank is told, by the router's signed rejection (§15.5)
          if (misbehaviour === 'approval-without-terms' || misbehaviour === 'decision-for-rival') {
            assert.deepEqual(bad.told().map((t) => t.code), [route[0]!.reasonCode], 'the bank learned that its decision was refused, and why');
          } else {
            assert.deepEqual(bad.told(), [], 'nothing to tell of an answer that is not a decision hop of this bank');
          }
          assert.deepEqual([route[1]!.bank, route[1]!.outcome], [SUZHOU, 'approved']);
          assert.ok(bad.asked() >= 1);
          // the bank's 4 s, then the workflow's own bookkeeping on a loaded machine: seconds, not the relay window's days
          if (misbehaviour === 'silent') assert.ok(Date.now() - started < 30_000, 'timed out with the bank’s decision timeout, not after days of retries');
        } finally {
          bad.server.forceShutdown();
          await replaceEndpoint(HANGZHOU, honestAddress);
        }
      });
    }

    it('ends the application with a clear outcome when the channel answers with a credit report for another bank; the platform is told', async () => {
      const bad = await misaddressingChannel(loadPartyIdentity(ensureNetwork(), DEV.channel), () => loadDirectory(ensureNetwork()), SUZHOU);
      const honestAddress = net().router.directory.get().party(DEV.channel)!.grpcEndpoint!;
      await replaceEndpoint(DEV.channel, bad.address);
      try {
        const app = net().platform.prepare(GOOD, HANGZHOU);
        assert.equal((await net().platform.submit(app)).status, 202);
        const { body } = await waitForState(net().platform, app.applicationId, ['refused'], 30_000);
        assert.equal((body.history as { state: string; reasonCode?: string }[]).find((s) => s.state === 'refused')?.reasonCode, 'ROUTE_NOT_ALLOWED');
        await waitForState(net().platform, app.applicationId, ['platform_notified'], 30_000);
        assert.equal(net().platform.outcomes.get(app.applicationId)?.outcome, 'refused');
      } finally {
        bad.server.forceShutdown();
        await replaceEndpoint(DEV.channel, honestAddress);
      }
    });
  });

  describe('refusals with personal data in their input — MariaDB', () => {
    const net = useNetwork('mysql', 'redaction');
    // what a careless or hostile platform puts where an id or a member belongs: a name, an identity
    // number, a phone number — none of it may come back in an answer or reach the ledger or the log
    const PII = ['张三', 'Zhang San', '110101199003071234', '13800138000', 'Li Si'];
    const leaked = (text: string) => PII.filter((p) => text.includes(p));

    it('answers and records every refusal in codes, lengths and digests: no value the caller sent is quoted', async () => {
      const rival = new ReferencePlatform({ identity: loadPartyIdentity(ensureNetwork(), RIVAL), directory: () => loadDirectory(ensureNetwork()), routerUrl: net().router.url, channelId: DEV.channel });
      const before = (await refusals(net().db)).length;
      const answers: string[] = [];
      // 1. an application id in its own namespace that is a customer's name and identity number
      const piiApp = `${RIVAL}:Zhang San 110101199003071234`;
      const hop = sealHop(loadPartyIdentity(ensureNetwork(), RIVAL).signing, {
        applicationId: piiApp, kind: 'application', model: 'data_channel', to: loadDirectory(ensureNetwork()).encryptionCertificate(DEV.channel),
        platform: RIVAL, channel: DEV.channel, consentRef: `${RIVAL}:consent_x`, fields: GOOD, salt: newSalt(), classOf,
      });
      const app = rival.prepare(GOOD, HANGZHOU);
      const r1 = await rival.submit({ ...app, body: { ...app.body, hop: hop.sealed } });
      assert.deepEqual([r1.status, codeOf(r1)], [400, 'HOP_MALFORMED']);
      answers.push(JSON.stringify(r1.body));
      // … and one of the grammar, in the first platform's namespace: refused, filed under no application
      const squatApp = `${DEV.platform}:app_110101199003071234`;
      const squatHop = sealHop(loadPartyIdentity(ensureNetwork(), RIVAL).signing, {
        applicationId: squatApp, kind: 'application', model: 'data_channel', to: loadDirectory(ensureNetwork()).encryptionCertificate(DEV.channel),
        platform: RIVAL, channel: DEV.channel, consentRef: `${RIVAL}:consent_x`, fields: GOOD, salt: newSalt(), classOf,
      });
      const r1b = await rival.submit({ ...app, body: { ...app.body, hop: squatHop.sealed } });
      assert.deepEqual([r1b.status, codeOf(r1b)], [403, 'ID_OUTSIDE_NAMESPACE']);
      answers.push(JSON.stringify(r1b.body));
      // 2. squatting on the first platform's namespace with a name, and an unknown consent member
      const squat = { ...rival.consentFor([HANGZHOU]), id: `${DEV.platform}:张三-13800138000` };
      const r2 = await rival.registerConsent(squat);
      assert.ok(['ID_OUTSIDE_NAMESPACE', 'REQUEST_MALFORMED'].includes(codeOf(r2) ?? ''), JSON.stringify(r2.body));
      answers.push(JSON.stringify(r2.body));
      const r3 = await rival.registerConsent({ ...rival.consentFor([HANGZHOU]), customerName: 'Li Si' } as never);
      assert.equal(r3.status, 400, JSON.stringify(r3.body));
      answers.push(JSON.stringify(r3.body));
      // 3. probing for an application by a customer's identity number
      const r4 = await rival.request('GET', `/v1/applications/${encodeURIComponent(`${DEV.platform}:110101199003071234`)}`);
      assert.deepEqual([r4.status, codeOf(r4)], [404, 'APPLICATION_NOT_FOUND']);
      answers.push(JSON.stringify(r4.body));

      for (const text of answers) assert.deepEqual(leaked(text), [], `an answer quotes the caller: ${text}`);
      const added = (await refusals(net().db)).slice(before);
      assert.ok(added.length >= 3, `refusals recorded: ${added.length}`);
      for (const r of added) assert.deepEqual(leaked(JSON.stringify(r)), [], `a refusal leaf quotes the caller: ${JSON.stringify(r)}`);
      // the caller can still find its own refusal: the id it sent is there as its token
      assert.ok(added.some((r) => r.applicationId === valueToken(squatApp)), JSON.stringify(added.map((r) => r.applicationId)));
      assert.ok(added.every((r) => r.from === RIVAL), 'filed under the caller, never under another platform');
      assert.deepEqual(leaked(readFileSync(env.logFile, 'utf8')), [], 'the log quotes a caller');
    });
  });

  describe('outbound requests and unauthenticated noise — SQLite', () => {
    const net = useNetwork('sqlite', 'outbound');

    it('refuses at submission a callback URL at an origin the platform did not register, or at an internal address', async () => {
      for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.8:8080/steal', 'file:///etc/passwd', 'http://user:pw@127.0.0.1/x']) {
        const app = net().platform.prepare(GOOD, HANGZHOU);
        const res = await net().platform.submit({ ...app, body: { ...app.body, callbackUrl: url } });
        assert.deepEqual([res.status, codeOf(res)], [400, 'CALLBACK_URL_REFUSED'], url);
      }
    });

    it('does not let a flood of unauthenticated requests grow the ledger: they reach it as one aggregate per code', async () => {
      const before = (await refusals(net().db)).length;
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          fetch(`${net().router.url}/v1/applications`, { method: 'POST', headers: { authorization: `DZL-PS256 keyId=forged${i},ts=${new Date().toISOString()},sig=AAAA`, 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status),
        ),
      );
      await net().router.flushNoise();
      const after = await refusals(net().db);
      const added = after.slice(before);
      assert.ok(added.length <= 2, `200 refusals became ${added.length} leaves`);
      assert.ok(added.some((r) => r.code === 'REQUEST_UNAUTHENTICATED' && /200 unauthenticated requests/.test(r.message)), JSON.stringify(added));
    });
  });
});

