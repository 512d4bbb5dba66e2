/**
 * A mixed network (issue 12, phase 2) on the real stack — Temporal, mutual-TLS gRPC, HTTP,
 * MariaDB: the RSA platform and router, the licensed channel of the SM suite (SM2-SM3 signatures,
 * SM2 key wrap, SM4-GCM), one bank of each suite. Every party made by the onboarding steps
 * (`createDevNetwork` → makePartyFolder, issueAdmission, installAdmission) from the network's two
 * roots; TLS stays on the RSA root for all. Both models, the cascade, a withdrawal notice an SM
 * party acknowledges in SM2, and each application's evidence verified offline against both roots.
 */
import { strict as assert } from 'node:assert';
import { verifyBundle } from '../../services/evidence/verify';
import { applicationBundle } from '../../services/ledger/bundles';
import { hopsOfApplication, leavesOfApplication } from '../../services/ledger/ledger';
import { createDevNetwork, DEV_PARTIES, loadDirectory, loadNetworkCas, loadPartyIdentity, type PartySpec } from '../../services/network/folder';
import type { BankDecision } from '../../services/parties/bank';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { b64url } from '../../services/seal/bytes';
import { newSalt, type SealedHop } from '../../services/seal/hop';
import { classOf } from '../../services/fields/catalogue';
import { ReferencePlatform } from '../../services/parties/platform';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { admitRequest, loadOwnIdentity, type PartyRequest } from '../../services/network/onboarding';
import { createCsr, generateKeyPair } from '../../services/pki/ca';
import { Sm2PrivateKey } from '../../services/seal/suites/sm2';
import { join } from 'node:path';
import { getSealedHop } from '../../services/store/sealedHops';
import { ensureNetwork, env, ROOT, tempDir, temporalAddress, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';
import { until } from '../support/wait';

const [HANGZHOU, SUZHOU] = DEV.banks;
// the second platform is of the SM suite too: the hop the openssl script seals is its
const JINHE = 'platform-jinhe';
const SM_PARTIES: ReadonlySet<string> = new Set([DEV.channel, SUZHOU, JINHE]);
const GOOD = SAMPLE_CUSTOMERS[0]!.fields;
const RISK = Object.fromEntries(Object.entries(GOOD).filter(([k]) => k.startsWith('risk.')));
const ATTRIBUTES = { attributes: { amount: 5_000_000, termMonths: 12, region: 'ZJ' } };
const declineAll = (): BankDecision => ({ outcome: { status: 'declined', reasonCode: 'POLICY_DECLINE' }, fields: { 'decision.status': 'declined', 'decision.reasonCode': 'POLICY_DECLINE' } });
const RSA = { sig: 'PS256', digest: 'HS256', wrap: 'RSA-OAEP-256', enc: 'A256GCM' };
const SM = { sig: 'SM2-SM3', digest: 'HMAC-SM3', wrap: 'SM2-ENC', enc: 'SM4-GCM' };
const suiteOf = (party: string) => (SM_PARTIES.has(party) ? SM : RSA);
const DZL = join(ROOT, 'dist', 'services', 'cli', 'dzl.js');
const dzl = (...args: string[]) => promisify(execFile)(process.execPath, [DZL, ...args], { cwd: ROOT, env: { ...process.env } });
const receiptBody = (leaf: unknown) => JSON.parse(Buffer.from((leaf as { receipt: string }).receipt, 'base64url').toString('utf8')) as { by: string; keyId: string };

describe('a mixed network: an SM channel, an RSA and an SM bank, an RSA platform — real Temporal, gRPC (mTLS), HTTP, MariaDB', function () {
  this.timeout(180_000);
  let net: LocalNetwork;
  let drop: () => Promise<void>;
  let dir: string;
  let storeUrl: string;

  before(async () => {
    dir = tempDir('mixed-network');
    const specs: PartySpec[] = DEV_PARTIES.map((p) => (SM_PARTIES.has(p.id) ? { ...p, suite: 'SM' as const } : p));
    createDevNetwork(dir, specs);
    // the test run's workers share one dev server and task queue: the same Temporal payload key as
    // the shared network's, or a worker of another suite could not decode this one's workflows
    copyFileSync(join(ensureNetwork(), 'parties', 'router', 'payload.key'), join(dir, 'parties', 'router', 'payload.key'));
    const store = await freshStore('mysql', 'mixed-suites');
    drop = store.drop;
    storeUrl = store.url;
    net = await startLocalNetwork({
      dbUrl: store.url, networkDir: dir, temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle(),
      banks: { [HANGZHOU]: { policy: declineAll } },
      retention: { approvedMs: 3_600_000, otherMs: 3_600_000 },
    });
  });
  after(async () => {
    await net?.close();
    await drop?.();
  });

  const verifies = async (applicationId: string) => {
    const bundle = await applicationBundle(net.db, net.router.regulator.log, applicationId);
    const report = verifyBundle({ bundle, caPem: net.router.directory.get().caPem, routerVkey: net.router.regulator.trust.routerVkey, origin: net.router.regulator.trust.origin });
    assert.ok(report.ok, report.failures.join('\n'));
    return bundle;
  };

  it('registers each party with certificates of its own suite, from the root of that suite', () => {
    const dir = net.router.directory.get();
    for (const id of [DEV.platform, JINHE, DEV.channel, HANGZHOU, SUZHOU, 'router']) {
      const suites = dir.requireParty(id).certificates.map((c) => `${c.usage}:${c.suite}`).sort();
      assert.deepEqual(suites, SM_PARTIES.has(id) ? ['enc:SM', 'sig:SM', 'tls:RSA'] : ['enc:RSA', 'sig:RSA', 'tls:RSA'], id);
    }
  });

  it('admits an SM bank that made its own keys: dzl party init --suite SM, dzl operator admit (each CSR to the CA of its suite), dzl party install', async () => {
    const folder = join(tempDir('sm-onboarding'), 'bank-xiamen');
    await dzl('party', 'init', '--dir', folder, '--id', 'bank-xiamen', '--role', 'bank', '--legal-name', '厦门国密示范银行', '--suite', 'SM');
    const request = JSON.parse(readFileSync(join(folder, 'request.json'), 'utf8')) as PartyRequest;
    assert.equal(request.suite, 'SM');
    const admission = join(tempDir('sm-onboarding-operator'), 'admission.json');
    const { stdout } = await dzl('operator', 'admit', join(folder, 'request.json'), '--out', admission, '--db', storeUrl, '--dir', dir, '--grpc', '127.0.0.1:1', '--contracted-channel', DEV.channel, '--decision-timeout-ms', '20000');
    assert.match(stdout, /bank-xiamen admitted as bank/);
    await dzl('party', 'install', admission, '--dir', folder);
    const me = loadOwnIdentity(folder);
    assert.ok(me.signing.privateKey instanceof Sm2PrivateKey, 'its signing key is SM2');
    const registered = await until('the router reads the new bank', async () => (await net.router.directory.refresh()).party('bank-xiamen'));
    assert.deepEqual(registered.certificates.map((c) => `${c.usage}:${c.suite}`).sort(), ['enc:SM', 'sig:SM', 'tls:RSA']);
    assert.equal(registered.certificates.find((c) => c.usage === 'sig')!.keyId, me.signing.keyId);
    // the operator's CA refuses what breaks the one-suite-per-party rule
    // (admitRequest issues and registers nothing: registering is the command's next step)
    const bad = JSON.parse(JSON.stringify(request)) as PartyRequest;
    const subject = { partyId: 'bank-xiamen', role: 'bank' as const, legalName: '厦门国密示范银行' };
    const rsaSig = createCsr(subject, generateKeyPair('RSA'));
    const smTls = createCsr(subject, generateKeyPair('SM'));
    const cas = loadNetworkCas(dir);
    assert.throws(() => admitRequest(cas, { ...bad, csrs: { ...bad.csrs, sig: rsaSig } }), /one suite/);
    assert.throws(() => admitRequest(cas, { ...bad, csrs: { ...bad.csrs, tls: smTls } }), /tls CSR must be of an RSA key/);
    assert.throws(() => admitRequest({ rsa: cas.rsa }, bad), /no SM2 CA/);
  });

  it('carries the data channel through the cascade: each hop signed in its sender’s suite and sealed in its recipient’s, the evidence verified offline', async () => {
    const consent = net.platform.consentFor([HANGZHOU, SUZHOU]);
    const app = net.platform.prepare(GOOD, ATTRIBUTES, { consent });
    const res = await net.platform.submit(app);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { body } = await waitForState(net.platform, app.applicationId, ['platform_notified'], 60_000);
    assert.equal((body.decision as { status: string }).status, 'approved');
    assert.deepEqual((body.route as { bank: string; outcome: string }[]).map((t) => [t.bank, t.outcome]), [[HANGZHOU, 'declined'], [SUZHOU, 'approved']]);
    // the platform opened the SM bank's decision (SM2-signed, sealed for the RSA platform)
    assert.equal(net.platform.decisions.get(app.applicationId)?.outcome.status, 'approved');

    const hops = await hopsOfApplication(net.db, app.applicationId);
    assert.deepEqual(hops.map((h) => `${h.header.kind}:${h.header.from}>${h.header.to}`), [
      `application:${DEV.platform}>${DEV.channel}`,
      `credit_report:${DEV.channel}>${HANGZHOU}`,
      `decision:${HANGZHOU}>${DEV.platform}`,
      `credit_report:${DEV.channel}>${SUZHOU}`,
      `decision:${SUZHOU}>${DEV.platform}`,
    ]);
    for (const h of hops) {
      const { sig, digest } = suiteOf(h.header.from);
      const { wrap, enc } = suiteOf(h.header.to);
      assert.deepEqual(h.header.alg, { sig, digest, wrap, enc }, `${h.header.kind} ${h.header.from} → ${h.header.to}`);
    }
    // receipts in the signer's suite: each party's receipt of its hop names its own sig certificate
    const leaves = await leavesOfApplication(net.db, app.applicationId);
    const dir = net.router.directory.get();
    // (the platform here fetches its decisions from the router rather than by callback: no receipt of those)
    for (const h of hops.filter((x) => x.header.to !== DEV.platform)) {
      const leaf = leaves.find((l) => l.kind === 'receipt' && l.hopId === h.header.hopId);
      assert.ok(leaf, `a receipt of ${h.header.kind} → ${h.header.to}`);
      const r = receiptBody(leaf.leaf);
      assert.equal(r.by, h.header.to);
      assert.equal(dir.certificate(r.keyId)?.suite, SM_PARTIES.has(h.header.to) ? 'SM' : 'RSA', `${r.by}'s receipt is in its suite`);
    }
    await verifies(app.applicationId);
  });

  it('carries the direct redirect to the SM bank: the platform’s risk data only through the SM channel, the token claimed on the bank’s page', async () => {
    const started = await net.platform.startRedirect(SUZHOU, RISK);
    assert.equal(started.submitted.status, 202, JSON.stringify(started.submitted.body));
    const page = new URL(started.redirectUrl);
    const form = new URLSearchParams({ token: started.token, name: '钱国密', idNumber: '330102199201014527', mobile: '13600002222', amount: '30000', term: '12', consent: 'yes' });
    const res = await fetch(`${page.origin}/h5/apply`, { method: 'POST', body: form, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 302, await res.text());
    const { body } = await waitForState(net.platform, started.applicationId, ['platform_notified'], 60_000);
    assert.equal(body.model, 'direct_redirect');
    const hops = await hopsOfApplication(net.db, started.applicationId);
    const kinds = hops.map((h) => `${h.header.kind}:${h.header.from}>${h.header.to}`);
    assert.ok(kinds.includes(`application:${DEV.platform}>${DEV.channel}`), kinds.join(' '));
    assert.ok(kinds.includes(`credit_report:${DEV.channel}>${SUZHOU}`), kinds.join(' '));
    assert.ok(!hops.some((h) => h.header.from === DEV.platform && h.header.to === SUZHOU && h.header.kind !== 'redirect'), 'no platform data to the bank but the token');
    for (const h of hops) assert.equal(h.header.alg.sig, suiteOf(h.header.from).sig, `${h.header.kind} signed in ${h.header.from}'s suite`);
    await verifies(started.applicationId);
  });

  it('takes an application hop sealed by a script in which only openssl does SM2, SM3 and SM4, and the SM channel opens it', async () => {
    const jinhe = new ReferencePlatform({ identity: loadPartyIdentity(dir, JINHE), directory: () => loadDirectory(dir), routerUrl: net.router.url, channelId: DEV.channel });
    const prepared = jinhe.prepare(GOOD, SUZHOU);
    const header = JSON.parse(Buffer.from((prepared.body.hop as SealedHop).header, 'base64url').toString('utf8')) as Record<string, unknown>;
    const request = {
      // the members the script is given (it adds the nonce, key ids, alg and manifest itself)
      header: Object.fromEntries(['v', 'hopId', 'applicationId', 'kind', 'model', 'from', 'to', 'platform', 'channel', 'consentRef', 'issuedAt'].map((k) => [k, header[k]])),
      fields: GOOD,
      classes: Object.fromEntries(Object.keys(GOOD).map((f) => [f, classOf(f)])),
      salt: b64url(newSalt()),
    };
    const work = tempDir('openssl-hop');
    const req = join(work, 'req.json');
    writeFileSync(req, JSON.stringify(request));
    const party = (id: string, f: string) => join(dir, 'parties', id, f);
    const out = execFileSync('node', [join(ROOT, 'test', 'interop', 'openssl-sm-hop.js'), 'seal', '--request', req, '--key', party(JINHE, 'sig.key'), '--sender-cert', party(JINHE, 'sig.crt'), '--recipient-cert', party(DEV.channel, 'enc.crt')], { encoding: 'utf8' });
    const byOpenssl = JSON.parse(out) as SealedHop;
    const res = await jinhe.submit({ ...prepared, body: { ...prepared.body, hop: byOpenssl } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    // (this platform has no callback: the outcome is what the router recorded)
    const { body } = await waitForState(jinhe, prepared.applicationId, ['approved'], 60_000);
    assert.equal((body.decision as { status: string }).status, 'approved', 'the SM channel opened the script’s hop and reported; the SM bank decided');
    const [intake] = await hopsOfApplication(net.db, prepared.applicationId);
    assert.equal(intake!.header.hopId, header.hopId);
    assert.deepEqual(intake!.header.alg, SM);
    assert.equal((await getSealedHop(net.db, intake!.header.hopId))!.sealed.signature, byOpenssl.signature, 'the router holds the script’s bytes');
    await verifies(prepared.applicationId);
  });

  it('sends a withdrawal notice to the SM channel and the SM bank; each acknowledges with an SM2 receipt the router verifies', async () => {
    const app = net.platform.prepare(GOOD, SUZHOU);
    assert.equal((await net.platform.submit(app)).status, 202);
    await waitForState(net.platform, app.applicationId, ['platform_notified'], 60_000);
    const consentId = (app.body.consent as { id: string }).id;
    const res = await net.platform.withdrawConsent(consentId);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const channelNotices = net.events.get(DEV.channel)!.notices;
    const bankNotices = net.events.get(SUZHOU)!.notices;
    await until('both SM parties acted on the notice', () => channelNotices.some((n) => n.applicationId === app.applicationId) && bankNotices.some((n) => n.applicationId === app.applicationId), 60_000);
    const acknowledged = await until('both acknowledgements recorded', async () => {
      const leaves = await leavesOfApplication(net.db, app.applicationId);
      const notices = leaves.filter((l) => l.kind === 'notice').map((l) => l.hopId);
      const acks = leaves.filter((l) => l.kind === 'receipt' && notices.includes(l.hopId));
      return acks.length >= 2 ? acks : undefined;
    }, 60_000);
    // each acknowledgement is signed by an SM party's SM2 key: the receipt names its SM certificate
    const dir = net.router.directory.get();
    for (const a of acknowledged) {
      const body = receiptBody(a.leaf);
      assert.ok(SM_PARTIES.has(body.by), `acknowledged by ${body.by}`);
      assert.equal(dir.certificate(body.keyId)?.suite, 'SM', `${body.by} acknowledged with its SM2 key`);
    }
    await verifies(app.applicationId);
    // the ended application's payloads are erased at the withdrawal; its signed headers stay and say the suites
    const [intake] = await hopsOfApplication(net.db, app.applicationId);
    assert.deepEqual(intake!.header.alg, { sig: RSA.sig, digest: RSA.digest, wrap: SM.wrap, enc: SM.enc });
  });
});
