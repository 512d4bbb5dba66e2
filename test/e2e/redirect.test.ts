import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { hopsOfApplication, refusals, whoSawWhat } from '../../services/ledger/ledger';
import { applicationBundle, directConnectionAudit } from '../../services/ledger/bundles';
import { verifyBundle } from '../../services/evidence/verify';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { ARTIFACTS, CHROMIUM, ensureNetwork, env, temporalAddress, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';

const BANK = DEV.banks[0];
const RISK = Object.fromEntries(Object.entries(SAMPLE_CUSTOMERS[0]!.fields).filter(([k]) => k.startsWith('risk.')));

describe('direct redirect (直连跳转) in headless Chromium — real Temporal, gRPC, HTTP, MariaDB', function () {
  this.timeout(120_000);
  let net: LocalNetwork;
  let drop: () => Promise<void>;
  let browser: Browser;

  before(async () => {
    const store = await freshStore('mysql', 'redirect');
    drop = store.drop;
    net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle(), banks: { [BANK]: { disburseAfterMs: 1500 } } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await net?.close();
    await drop?.();
  });

  it('follows the redirect, applies on the bank’s page, and the platform learns the status only', async () => {
    const started = await net.platform.startRedirect(BANK, RISK);
    assert.equal(started.submitted.status, 202, JSON.stringify(started.submitted.body));
    const page = await browser.newPage({ viewport: { width: 420, height: 860 } });
    await page.goto(started.redirectUrl);
    await page.fill('input[name=name]', '赵敏');
    await page.fill('input[name=idNumber]', '330102199201014527');
    await page.fill('input[name=mobile]', '13600001111');
    await page.fill('input[name=amount]', '30000');
    await page.selectOption('select[name=term]', '12');
    await page.check('input[name=consent]');
    await page.screenshot({ path: join(ARTIFACTS, 'redirect-bank-form.png'), fullPage: true });
    await Promise.all([page.waitForURL(/\/h5\/status/), page.click('#submit')]);
    await page.waitForSelector('#result[data-status="approved"]', { timeout: 20_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'redirect-bank-result.png'), fullPage: true });
    assert.match((await page.textContent('#result')) ?? '', /审批通过/);

    const { body } = await waitForState(net.platform, started.applicationId, ['platform_notified']);
    assert.equal((body.decision as { status: string }).status, 'approved');
    const seen = net.platform.decisions.get(started.applicationId)!;
    assert.deepEqual(Object.keys(seen.fields), ['decision.status'], 'the platform learns the status, not the limit or the rate');

    const hops = await hopsOfApplication(net.db, started.applicationId);
    const handoff = hops.find((h) => h.header.kind === 'redirect')!;
    assert.equal(handoff.header.from, DEV.platform);
    assert.equal(handoff.header.to, BANK);
    assert.deepEqual(handoff.header.manifest.map((m) => [m.field, m.class]), [['redirect.token', 'C1']], 'the platform → bank hop carries the token, nothing personal');
    const report = hops.find((h) => h.header.kind === 'credit_report')!;
    assert.ok(report.header.manifest.every((m) => m.field.startsWith('product.')), 'the bank gets the channel’s product, not the platform’s risk fields');
    const matrix = whoSawWhat(hops, [DEV.platform, 'router', DEV.channel, BANK]);
    for (const row of matrix.fields) if (row.field.startsWith('risk.')) assert.ok(!row.seenBy.includes(BANK), `bank must not see ${row.field}`);
    const bundle = await applicationBundle(net.db, net.router.regulator.log, started.applicationId);
    const verified = verifyBundle({ bundle, caPem: net.router.directory.get().caPem, routerVkey: net.router.regulator.trust.routerVkey, origin: net.router.regulator.trust.origin });
    assert.ok(verified.ok, verified.failures.join('\n'));
    // the whole log, redirect hops included, still proves no personal data went platform → bank
    const audit = verifyBundle({ bundle: await directConnectionAudit(net.db, net.router.regulator.log), caPem: net.router.directory.get().caPem, routerVkey: net.router.regulator.trust.routerVkey, origin: net.router.regulator.trust.origin });
    assert.ok(audit.ok, audit.failures.join('\n'));
    assert.ok(audit.checks.some((c) => c.ok && /redirect hops carry only the token/.test(c.check)));

    // the bank reports the disbursement; the platform gets it by callback; reconciliation lists both
    const deadline = Date.now() + 20_000;
    while (!net.platform.disbursements.has(started.applicationId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const disbursed = net.platform.disbursements.get(started.applicationId);
    assert.ok(disbursed, 'the platform received the disbursement');
    assert.equal(disbursed['disbursement.amount'], 3_000_000);
    const day = new Date().toISOString().slice(0, 10);
    const rec = await net.platform.request('GET', `/v1/reconciliation?day=${day}`);
    assert.equal(rec.status, 200);
    assert.ok(rec.body.decisions.some((d: { applicationId: string; outcome: string }) => d.applicationId === started.applicationId && d.outcome === 'approved'));
    assert.ok(rec.body.disbursements.some((d: { applicationId: string }) => d.applicationId === started.applicationId));
  });

  it('refuses a second use of the token (recorded by the router) and a forged one (at the bank’s page)', async () => {
    const started = await net.platform.startRedirect(BANK, RISK);
    const bank = net.banks.get(BANK)!;
    const page = await browser.newPage();
    await page.goto(started.redirectUrl);
    await page.fill('input[name=name]', '钱多多');
    await page.fill('input[name=idNumber]', '330102199201014527');
    await page.fill('input[name=mobile]', '13600002222');
    await page.fill('input[name=amount]', '20000');
    await page.check('input[name=consent]');
    await Promise.all([page.waitForURL(/\/h5\/status/), page.click('#submit')]);
    await assert.rejects(bank.claim(started.token), (e: { code?: string }) => e.code === 'REDIRECT_TOKEN_USED');
    const recorded = await refusals(net.db, { code: 'REDIRECT_TOKEN_USED' });
    assert.ok(recorded.some((r) => r.refusedBy === 'router' && r.stage === 'redirect claim'), 'the second claim is recorded');
    const forged = started.token.slice(0, -4) + (started.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const res = await page.goto(`${started.redirectUrl.split('?')[0]}?token=${encodeURIComponent(forged)}`);
    assert.equal(res?.status(), 401);
    assert.equal(await page.getAttribute('#error', 'data-code'), 'REDIRECT_TOKEN_INVALID');
  });

  it('refuses personal data sent from a platform to a bank under the redirect model', async () => {
    const directory = net.router.directory.get();
    const { sealHop, newSalt } = await import('../../services/seal/hop');
    const { classOf } = await import('../../services/fields/catalogue');
    const issued = await net.platform.request('POST', '/v1/redirects', { bank: BANK, consent: { ...net.platform.consentFor([BANK]) } });
    const leak = sealHop(net.platform['opts'].identity.signing, {
      applicationId: issued.body.applicationId, kind: 'redirect', model: 'direct_redirect', to: directory.encryptionCertificate(BANK),
      platform: DEV.platform, channel: DEV.channel, consentRef: issued.body.consentId, salt: newSalt(), classOf,
      fields: { 'redirect.token': issued.body.token, 'customer.mobile': '13600003333' },
    });
    const risk = sealHop(net.platform['opts'].identity.signing, {
      applicationId: issued.body.applicationId, kind: 'application', model: 'direct_redirect', to: directory.encryptionCertificate(DEV.channel),
      platform: DEV.platform, channel: DEV.channel, consentRef: issued.body.consentId, salt: newSalt(), classOf, fields: RISK,
    });
    const res = await net.platform.request('POST', `/v1/redirects/${issued.body.applicationId}/hops`, { riskHop: risk.sealed, redirectHop: leak.sealed }, { 'idempotency-key': 'idem-leak-redirect' });
    assert.equal(res.body.error.code, 'DIRECT_CONNECTION_REFUSED');
  });
});
