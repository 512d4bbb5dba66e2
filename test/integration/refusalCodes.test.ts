import { strict as assert } from 'node:assert';
import { DzlError } from '../../services/common/errors';
import { refusals } from '../../services/ledger/ledger';
import { applicationBundle } from '../../services/ledger/bundles';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { DEV, startLocalNetwork, type LocalNetwork } from '../../services/runtime/localNetwork';
import { fromB64url } from '../../services/seal/bytes';
import { loadPartyIdentity } from '../../services/network/folder';
import { canonicalJson } from '../../services/seal/canonical';
import { decodeHeader } from '../../services/seal/hop';
import { issueRedirectToken, readRedirectToken } from '../../services/seal/redirectToken';
import { ensureNetwork, env, temporalAddress, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';

const GOOD = SAMPLE_CUSTOMERS[0]!.fields;

/** The refusal codes no other suite meets, each produced by the real component that refuses. */
describe('refusal codes met nowhere else — real Temporal, gRPC, HTTP, SQLite', function () {
  this.timeout(120_000);
  let net: LocalNetwork;
  let drop: () => Promise<void>;
  before(async () => {
    const store = await freshStore('sqlite', 'codes');
    drop = store.drop;
    net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle() });
  });
  after(async () => {
    await net?.close();
    await drop?.();
  });

  it('IDEMPOTENCY_KEY_MISSING: an application without an Idempotency-Key, refused and recorded', async () => {
    const app = net.platform.prepare(GOOD, DEV.banks[0]);
    const res = await net.platform.request('POST', '/v1/applications', app.body);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'IDEMPOTENCY_KEY_MISSING');
    assert.ok((await refusals(net.db, { code: 'IDEMPOTENCY_KEY_MISSING' })).length >= 1);
  });

  it('APPLICATION_NOT_FOUND: the status of an application that is not the caller’s', async () => {
    const res = await net.platform.request('GET', '/v1/applications/app_nobody_sent_this');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'APPLICATION_NOT_FOUND');
  });

  it('NO_ELIGIBLE_BANK: a funding-list route no consented bank can take, with the reasons', async () => {
    const app = net.platform.prepare(GOOD, { attributes: { amount: 900_000_000_000, termMonths: 12, region: 'ZJ' } }, { consent: net.platform.consentFor([DEV.banks[0], DEV.banks[1]]) });
    const res = await net.platform.submit(app);
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, 'NO_ELIGIBLE_BANK');
    assert.match(res.body.error.message, /bank-hangzhou/);
  });

  it('CONSENT_MISSING: the bank’s page refuses an application without the customer’s consent', async () => {
    const started = await net.platform.startRedirect(DEV.banks[1], Object.fromEntries(Object.entries(GOOD).filter(([k]) => k.startsWith('risk.'))));
    const form = new URLSearchParams({ token: started.token, name: '周未同意', idNumber: '330102199201014527', mobile: '13600003333', amount: '30000', term: '12' });
    const res = await fetch(`${new URL(started.redirectUrl).origin}/h5/apply`, { method: 'POST', body: form, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /data-code="CONSENT_MISSING"/);
    assert.equal(await net.banks.get(DEV.banks[1])!.h5Application(started.applicationId), undefined, 'nothing kept without consent');
  });

  it('REDIRECT_TOKEN_EXPIRED: a token past its expiry, at the bank’s page', async () => {
    const directory = net.router.directory.get();
    const { token } = issueRedirectToken(loadPartyIdentity(ensureNetwork(), 'router').signing, 'app_expired', DEV.banks[1], Date.now() - 3_600_000, 1000);
    assert.throws(() => readRedirectToken(token, directory.signerOf), (e: unknown) => e instanceof DzlError && e.code === 'REDIRECT_TOKEN_EXPIRED');
    const page = await fetch(`${directory.party(DEV.banks[1])!.webUrl}?token=${encodeURIComponent(token)}`);
    assert.equal(page.status, 410);
    assert.match(await page.text(), /data-code="REDIRECT_TOKEN_EXPIRED"/);
  });

  it('EVIDENCE_NOT_YET_WITNESSED: a witnessed bundle asked for before any witness cosigned', async () => {
    const app = net.platform.prepare(GOOD, DEV.banks[0]);
    assert.equal((await net.platform.submit(app)).status, 202);
    await assert.rejects(
      applicationBundle(net.db, net.router.regulator.log, app.applicationId, { witnessed: true }),
      (e: unknown) => e instanceof DzlError && e.code === 'EVIDENCE_NOT_YET_WITNESSED',
    );
    const unwitnessed = await applicationBundle(net.db, net.router.regulator.log, app.applicationId);
    assert.ok(unwitnessed.leaves.length > 0, 'the same bundle, not required to be witnessed, is there');
  });

  it('HOP_VERSION_UNSUPPORTED and HOP_ALGORITHM_UNSUPPORTED: a header of another version or with other algorithms', () => {
    const app = net.platform.prepare(GOOD, DEV.banks[0]);
    const header = JSON.parse(fromB64url((app.body.hop as { header: string }).header)!.toString('utf8')) as Record<string, unknown>;
    const code = (h: Record<string, unknown>) => {
      try {
        decodeHeader(canonicalJson(h));
        return 'accepted';
      } catch (e) {
        return (e as DzlError).code;
      }
    };
    assert.equal(code(header), 'accepted');
    assert.equal(code({ ...header, v: 2 }), 'HOP_VERSION_UNSUPPORTED');
    assert.equal(code({ ...header, alg: { ...(header.alg as object), sig: 'RS256' } }), 'HOP_ALGORITHM_UNSUPPORTED');
  });
});
