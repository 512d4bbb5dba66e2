import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadPartyIdentity } from '../../services/network/folder';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { regulatorLinkToken } from '../../services/router/regulatorPage';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { ARTIFACTS, CHROMIUM, ensureNetwork, env, temporalAddress, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';


describe('the regulator’s page in headless Chromium', function () {
  this.timeout(120_000);
  let net: LocalNetwork;
  let browser: Browser;
  let applicationId: string;

  before(async () => {
    const store = await freshStore('sqlite', 'page');
    net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle() });
    const app = net.platform.prepare(SAMPLE_CUSTOMERS[0]!.fields, DEV.banks[0]);
    assert.equal((await net.platform.submit(app)).status, 202);
    await waitForState(net.platform, app.applicationId, ['platform_notified']);
    applicationId = app.applicationId;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await net?.close();
  });

  it('finds an application and shows its flow, who saw what, provenance and a verified badge', async () => {
    const token = regulatorLinkToken(loadPartyIdentity(ensureNetwork(), 'regulator-pboc').signing);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${net.router.url}/regulator?token=${encodeURIComponent(token)}`);
    await page.fill('input[name=id]', applicationId);
    await Promise.all([page.waitForURL(/\/regulator\/application/), page.click('button[type=submit]')]);
    await page.screenshot({ path: join(ARTIFACTS, 'regulator-page.png'), fullPage: true });

    assert.match(await page.textContent('#verification') ?? '', /Evidence verified/);
    assert.equal(await page.locator('svg g.hop').count(), 3, 'three hops in the diagram');
    assert.equal(await page.locator('svg g.receipt').count(), 3, 'three signed receipts');
    const cell = (field: string, column: number) => page.locator(`#matrix tr[data-field="${field}"] td`).nth(column).textContent();
    // columns: field, class, platform, router, channel, bank
    assert.equal(await cell('risk.platformScore', 5), '—', 'the bank never saw the platform’s risk score');
    assert.equal(await cell('risk.platformScore', 4), 'saw');
    assert.equal(await cell('customer.idNumber', 3), '—', 'the router never sees a value');
    assert.equal(await cell('product.score', 5), 'saw');
    assert.match(await page.textContent('#consent') ?? '', /channel-baihang, bank-hangzhou/);
    assert.match(await page.textContent('#provenance') ?? '', /approved by bank-hangzhou/);
    assert.equal(await page.textContent('#state'), 'platform_notified');
  });

  it('turns away a browser without a regulator’s link, and one with an expired link', async () => {
    const page = await browser.newPage();
    const none = await page.goto(`${net.router.url}/regulator/application?id=${applicationId}`);
    assert.equal(none?.status(), 401);
    assert.match(await page.textContent('body') ?? '', /REQUEST_UNAUTHENTICATED/);
    const expired = regulatorLinkToken(loadPartyIdentity(ensureNetwork(), 'regulator-pboc').signing, Date.now() - 2 * 3600_000);
    const old = await page.goto(`${net.router.url}/regulator?token=${encodeURIComponent(expired)}`);
    assert.equal(old?.status(), 401);
    const platformToken = regulatorLinkToken(loadPartyIdentity(ensureNetwork(), DEV.platform).signing);
    const wrongRole = await page.goto(`${net.router.url}/regulator?token=${encodeURIComponent(platformToken)}`);
    assert.equal(wrongRole?.status(), 403);
    await page.screenshot({ path: join(ARTIFACTS, 'regulator-page-refused.png') });
  });
});
