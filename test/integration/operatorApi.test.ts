/**
 * The operator API (envelope.md §24) against a running router on real Temporal, HTTP and
 * MariaDB, tried by an honest operator and by everyone who is not one: an outsider, a party
 * signing with its own key, an operator whose key is not listed, a replay of an operator's own
 * request, and an operator sending what the API does not take. Every change is a party leaf and
 * a new directory version; no refusal quotes what was sent.
 */
import { strict as assert } from 'node:assert';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DzlError } from '../../services/common/errors';
import { createDevNetwork, loadPartyIdentity } from '../../services/network/folder';
import { admitRequest, initParty } from '../../services/network/onboarding';
import { callOperatorApi, signOperatorRequest } from '../../services/operator/requestAuth';
import { DEV, startLocalNetwork, type LocalNetwork } from '../../services/runtime/localNetwork';
import { signRequest } from '../../services/seal/requestSignature';
import { fundingRules } from '../../services/store/fundingRoutes';
import { partySnapshot } from '../../services/store/parties';
import { env, temporalAddress, tempDir, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';

const refused = (code: string) => (err: unknown) => err instanceof DzlError && err.code === code;

describe('the operator API — real Temporal, HTTP, MariaDB', function () {
  this.timeout(180_000);
  let net: LocalNetwork;
  let drop: () => Promise<void>;
  let url = '';
  const dir = tempDir('operator-api');
  const networkDir = join(dir, 'network');
  const alice = generateKeyPairSync('ed25519');
  const mallory = generateKeyPairSync('ed25519');
  const host = () => new URL(url).host;
  const call = (method: string, path: string, body?: unknown, key: KeyObject = alice.privateKey, id = 'ops-alice') => callOperatorApi(url, id, key, method, path, body);
  const version = async () => ((await call('PATCH', `/v1/operator/parties/${DEV.banks[0]}`, { decisionTimeoutMs: 30_000 + Math.floor(Math.random() * 1000) })) as { directoryVersion: number }).directoryVersion;

  before(async () => {
    createDevNetwork(networkDir);
    mkdirSync(join(networkDir, 'operators'), { recursive: true });
    writeFileSync(join(networkDir, 'operators', 'operators.json'), JSON.stringify({ operators: [{ id: 'ops-alice', publicKeyPem: alice.publicKey.export({ type: 'spki', format: 'pem' }) }] }));
    const store = await freshStore('mysql', 'operator-api');
    drop = store.drop;
    net = await startLocalNetwork({ dbUrl: store.url, networkDir, temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle(), partyStores: { dataDir: join(dir, 'pd'), keyDir: join(dir, 'pk') } });
    url = net.router.url;
  });
  after(async () => {
    await net?.close();
    await drop?.();
  });

  it('admits a party an operator signed for, with the certificates the CA issued from its own requests: one party leaf, a newer directory', async () => {
    const before = await version();
    const request = initParty(join(dir, 'bank-xiamen'), { id: 'bank-xiamen', role: 'bank', legalName: '厦门示范银行' });
    const ca = { certPem: readFileSync(join(networkDir, 'ca', 'ca.crt'), 'utf8'), keyPem: readFileSync(join(networkDir, 'ca', 'ca.key'), 'utf8') };
    const admission = admitRequest(ca, request);
    const answer = (await call('POST', '/v1/operator/parties', { party: request.party, certificates: Object.values(admission.certificates), grpcEndpoint: '127.0.0.1:7443', contractedChannel: DEV.channel, decisionTimeoutMs: 20_000 })) as { directoryVersion: number };
    assert.ok(answer.directoryVersion > before);
    const p = await partySnapshot(net.db, 'bank-xiamen');
    assert.deepEqual([p?.role, p?.contractedChannel, p?.grpcEndpoint, p?.certificates.length], ['bank', DEV.channel, '127.0.0.1:7443', 3]);
    // the same id again is another organisation's until the operator says it is a renewal
    await assert.rejects(call('POST', '/v1/operator/parties', { party: request.party, certificates: Object.values(admission.certificates) }), refused('PARTY_ALREADY_REGISTERED'));
    await assert.rejects(call('POST', '/v1/operator/parties', { party: { ...request.party, role: 'channel' }, certificates: Object.values(admission.certificates), renew: true }), refused('PARTY_ROLE_MISMATCH'));
  });

  it("refuses an admission carrying another role's members: a platform's decision timeout, a bank's callback origins, a bank's licence", async () => {
    const ca = { certPem: readFileSync(join(networkDir, 'ca', 'ca.crt'), 'utf8'), keyPem: readFileSync(join(networkDir, 'ca', 'ca.key'), 'utf8') };
    const platform = initParty(join(dir, 'platform-roles'), { id: 'platform-roles', role: 'platform', legalName: '角色助贷' });
    const bank = initParty(join(dir, 'bank-roles'), { id: 'bank-roles', role: 'bank', legalName: '角色银行' });
    const certs = (r: typeof platform) => Object.values(admitRequest(ca, r).certificates);
    const licence = { number: 'X-1', issuer: 'PBOC', validFrom: new Date().toISOString(), validUntil: new Date(Date.now() + 86_400_000).toISOString(), status: 'active' };
    await assert.rejects(call('POST', '/v1/operator/parties', { party: platform.party, certificates: certs(platform), decisionTimeoutMs: 5_000 }), refused('PARTY_ROLE_MISMATCH'));
    await assert.rejects(call('POST', '/v1/operator/parties', { party: bank.party, certificates: certs(bank), callbackOrigins: ['https://bank.example'] }), refused('PARTY_ROLE_MISMATCH'));
    await assert.rejects(call('POST', '/v1/operator/parties', { party: bank.party, certificates: certs(bank), licence }), refused('PARTY_ROLE_MISMATCH'));
    assert.equal(await partySnapshot(net.db, 'platform-roles'), undefined);
    assert.equal(await partySnapshot(net.db, 'bank-roles'), undefined);
  });

  it('refuses certificates the network CA did not issue to that party', async () => {
    const request = initParty(join(dir, 'bank-fake'), { id: 'bank-fake', role: 'bank', legalName: '假银行' });
    const otherCa = createDevNetwork(join(dir, 'other-network'), []);
    const foreign = admitRequest({ certPem: otherCa.caPem, keyPem: readFileSync(join(dir, 'other-network', 'ca', 'ca.key'), 'utf8') }, request);
    await assert.rejects(call('POST', '/v1/operator/parties', { party: request.party, certificates: Object.values(foreign.certificates) }), refused('HOP_CERTIFICATE_INVALID'));
    assert.equal(await partySnapshot(net.db, 'bank-fake'), undefined, 'nothing registered');
  });

  it('changes endpoints and terms, sets a funding list, revokes a certificate — each a new directory version', async () => {
    const v1 = await version();
    const v2 = ((await call('PATCH', `/v1/operator/parties/${DEV.banks[1]}`, { webUrl: 'https://suzhou.example/h5/apply' })) as { directoryVersion: number }).directoryVersion;
    assert.ok(v2 > v1);
    await call('PUT', `/v1/operator/platforms/${DEV.platform}/funding`, { rules: [{ bankId: DEV.banks[1], priority: 1, minAmount: 100, maxAmount: 1_000_000, terms: [12], regions: ['*'], dailyQuota: 10 }] });
    assert.deepEqual((await fundingRules(net.db, DEV.platform)).map((r) => r.bankId), [DEV.banks[1]]);
    const keyId = loadPartyIdentity(networkDir, DEV.banks[3]).signing.keyId;
    const v3 = ((await call('POST', `/v1/operator/certificates/${keyId}/revoke`)) as { directoryVersion: number }).directoryVersion;
    assert.ok(v3 > v2);
    await assert.rejects(call('POST', `/v1/operator/certificates/${keyId}/revoke`), refused('PARTY_UNKNOWN'), 'revoked already');
  });

  it("refuses changes that are not the party's to have: terms on a platform, callback origins on a bank, an unknown party or channel", async () => {
    await assert.rejects(call('PATCH', `/v1/operator/parties/${DEV.platform}`, { decisionTimeoutMs: 5_000 }), refused('PARTY_ROLE_MISMATCH'));
    await assert.rejects(call('PATCH', `/v1/operator/parties/${DEV.banks[0]}`, { callbackOrigins: ['https://x.example'] }), refused('PARTY_ROLE_MISMATCH'));
    await assert.rejects(call('PATCH', '/v1/operator/parties/bank-nowhere', { grpcEndpoint: '127.0.0.1:1' }), refused('PARTY_UNKNOWN'));
    await assert.rejects(call('PATCH', `/v1/operator/parties/${DEV.banks[0]}`, { contractedChannel: DEV.banks[1] }), refused('PARTY_ROLE_MISMATCH'));
    await assert.rejects(call('PUT', `/v1/operator/platforms/${DEV.platform}/funding`, { rules: [{ bankId: DEV.channel, priority: 1, minAmount: 1, maxAmount: 2, terms: [12], regions: ['*'], dailyQuota: 1 }] }), refused('PARTY_ROLE_MISMATCH'));
  });

  it('refuses what the API does not take, with the schema\'s words and none of the caller\'s', async () => {
    const secret = '张三 330106199003154821';
    for (const body of [{ grpcEndpoint: secret }, { decisionTimeoutMs: 5 }, { note: secret }, {}]) {
      await assert.rejects(call('PATCH', `/v1/operator/parties/${DEV.banks[0]}`, body), (err: unknown) => refused('REQUEST_MALFORMED')(err) && !(err as Error).message.includes('330106') && !(err as Error).message.includes('张三'));
    }
  });

  it('refuses everyone who is not an operator: no signature, a party\'s signature, an unlisted key, a replay, another path', async () => {
    const path = `/v1/operator/parties/${DEV.banks[0]}`;
    const body = Buffer.from(JSON.stringify({ decisionTimeoutMs: 25_000 }));
    const send = (authorization: string | undefined, p = path, b = body) => fetch(url + p, { method: 'PATCH', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: b }).then(async (r) => ({ status: r.status, code: ((await r.json()) as { error?: { code?: string } }).error?.code }));
    assert.deepEqual(await send(undefined), { status: 401, code: 'REQUEST_UNAUTHENTICATED' });
    // a platform signing with its own registered key is a party, not an operator
    assert.deepEqual(await send(signRequest(loadPartyIdentity(networkDir, DEV.platform).signing, 'PATCH', path, body)), { status: 401, code: 'REQUEST_UNAUTHENTICATED' });
    assert.deepEqual(await send(signOperatorRequest('ops-mallory', mallory.privateKey, host(), 'PATCH', path, body)), { status: 401, code: 'REQUEST_UNAUTHENTICATED' });
    assert.deepEqual(await send(signOperatorRequest('ops-alice', mallory.privateKey, host(), 'PATCH', path, body)), { status: 401, code: 'REQUEST_UNAUTHENTICATED' });
    const signed = signOperatorRequest('ops-alice', alice.privateKey, host(), 'PATCH', path, body);
    assert.equal((await send(signed)).status, 200);
    assert.deepEqual(await send(signed), { status: 401, code: 'REQUEST_UNAUTHENTICATED' }, 'the same request again: its nonce is used');
    // the signature binds the path and the body
    assert.deepEqual(await send(signOperatorRequest('ops-alice', alice.privateKey, host(), 'PATCH', path, body), `/v1/operator/parties/${DEV.banks[1]}`), { status: 401, code: 'REQUEST_UNAUTHENTICATED' });
    assert.deepEqual(await send(signOperatorRequest('ops-alice', alice.privateKey, host(), 'PATCH', path, body), path, Buffer.from(JSON.stringify({ decisionTimeoutMs: 1_000 }))), { status: 401, code: 'REQUEST_UNAUTHENTICATED' });
    // signed for another router (another network's, another host): not this one's to take
    assert.deepEqual(await send(signOperatorRequest('ops-alice', alice.privateKey, 'router.staging.example:8080', 'PATCH', path, body)), { status: 401, code: 'REQUEST_UNAUTHENTICATED' });
    // a party's signature on the operator API under another spelling of the path: never the operator's routes
    for (const spelled of [`/V1/operator/parties/${DEV.banks[0]}`, `/v1/Operator/parties/${DEV.banks[0]}`, `/v1/OPERATOR/parties/${DEV.banks[0]}`]) {
      const r = await send(signRequest(loadPartyIdentity(networkDir, DEV.banks[0]).signing, 'PATCH', spelled, body), spelled);
      assert.ok(r.status === 401 || r.status === 404, `${spelled}: ${r.status} ${r.code}`);
    }
    assert.notEqual((await partySnapshot(net.db, DEV.banks[0]))?.decisionTimeoutMs, 1_000);
    // and an operator's signature is no party's: the party API does not take it
    const status = await fetch(`${url}/v1/directory`, { headers: { authorization: signOperatorRequest('ops-alice', alice.privateKey, host(), 'GET', '/v1/directory', Buffer.alloc(0)) } });
    assert.equal(status.status, 401);
  });
});
