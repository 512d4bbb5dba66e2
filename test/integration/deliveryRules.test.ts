/**
 * Delivery semantics a bank can rely on (issue 11 item 4, envelope.md §15.5–§15.7), each with the
 * real router, worker, Temporal, mutual-TLS gRPC and MariaDB:
 * - a bank learns, by the router's signed rejection, that the decision it returned with the
 *   delivery was refused — and then does not disburse it;
 * - in the redirect model the claim is recorded before the credit report it releases is
 *   delivered, the history shows it, and a claim retried after the router failed between the
 *   claim and the workflow goes through once;
 * - states are recorded in their true order: a disbursement reported at once after an approval
 *   is taken, and never appears before the approval.
 */
import { strict as assert } from 'node:assert';
import { hopsOfApplication, refusals } from '../../services/ledger/ledger';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { appendState, statesOf } from '../../services/store/applicationStates';
import { claimToken } from '../../services/store/redirects';
import { readRedirectToken } from '../../services/seal/redirectToken';
import { verifyReceipt } from '../../services/seal/receipt';
import type { Fields } from '../../services/seal/hop';
import { ensureNetwork, env, temporalAddress, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';
import { until } from '../support/wait';

const [HANGZHOU, SUZHOU, NINGBO] = DEV.banks;
const GOOD = SAMPLE_CUSTOMERS[0]!.fields;
const RISK: Fields = Object.fromEntries(Object.entries(GOOD).filter(([k]) => k.startsWith('risk.')));


describe('delivery rules a bank can rely on — real Temporal, gRPC (mTLS), MariaDB', function () {
  this.timeout(120_000);
  let net: LocalNetwork;
  let drop: () => Promise<void>;

  before(async () => {
    const store = await freshStore('mysql', 'delivery-rules');
    drop = store.drop;
    net = await startLocalNetwork({
      dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle(),
      banks: {
        // an approval whose sealed body says otherwise than its header: the router refuses it (§15.4)
        [HANGZHOU]: { disburseAfterMs: 2_000, policy: () => ({ outcome: { status: 'approved' }, fields: { 'decision.status': 'declined', 'decision.reasonCode': 'SCORE_BELOW_CUTOFF' } }) },
        // disburses the moment it approves
        [SUZHOU]: { disburseAfterMs: 0 },
      },
    });
  });
  after(async () => {
    await net?.close();
    await drop?.();
  });

  it('tells the bank, with a router-signed rejection, that the decision it returned was refused; the bank does not disburse it', async () => {
    const app = net.platform.prepare(GOOD, { attributes: { amount: 3_000_000, termMonths: 12, region: '330000' } }, { consent: net.platform.consentFor([HANGZHOU, SUZHOU]) });
    assert.equal((await net.platform.submit(app)).status, 202);
    const { body } = await waitForState(net.platform, app.applicationId, ['platform_notified'], 60_000);
    const route = body.route as { bank: string; outcome?: string; reasonCode?: string }[];
    assert.deepEqual(route.map((t) => [t.bank, t.outcome, t.reasonCode]), [[HANGZHOU, 'refused', 'HOP_MANIFEST_MISMATCH'], [SUZHOU, 'approved', undefined]]);
    const told = net.events.get(HANGZHOU)!.refusedDecisions;
    const [hopId, code] = await until('the bank is told', () => [...told.entries()][0]);
    assert.equal(code, 'HOP_MANIFEST_MISMATCH');
    // the refused approval stands nowhere: not in custody, and the bank reported no disbursement of it
    assert.ok(!(await hopsOfApplication(net.db, app.applicationId)).some((h) => h.header.hopId === hopId), 'the refused decision is not in the ledger as a hop');
    assert.ok(await net.banks.get(HANGZHOU)!.wasRefused(app.applicationId, hopId));
    // the bank would have disbursed 2 s after approving: told before then, it does not
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(net.events.get(HANGZHOU)!.disbursed.get(app.applicationId), undefined, 'no disbursement follows a refused approval');
  });

  it('refuses a "rejection" the router did not sign: the bank keeps its decision', async () => {
    const bank = net.banks.get(HANGZHOU)!;
    const decided = net.events.get(HANGZHOU)!.decisions.at(-1)!;
    const forged = { receipt: Buffer.from('{}').toString('base64url'), signature: '' };
    await assert.rejects(bank.decisionRefused(decided.applicationId, forged), (err: { code?: string }) => err.code === 'RECEIPT_INVALID');
    // and a signed receipt of someone else's (the platform's) is not the router's either
    assert.throws(() => verifyReceipt(forged, { hopId: 'x', headerDigest: 'y', by: 'router' }, net.router.directory.get().signerOf));
  });

  it('records a disbursement reported the moment the loan is approved, after the approval, in true order', async () => {
    const app = net.platform.prepare(GOOD, SUZHOU);
    assert.equal((await net.platform.submit(app)).status, 202);
    const taken = await until('the disbursement is reported', () => net.events.get(SUZHOU)!.disbursed.get(app.applicationId), 40_000);
    if (!taken.accepted) {
      const why = (await refusals(net.db, { applicationId: app.applicationId })).map((r) => `${r.stage}: ${r.code} ${r.message}`);
      assert.fail(`the router answered the disbursement with ${taken.code}: ${why.join('; ')}`);
    }
    await waitForState(net.platform, app.applicationId, ['disbursed'], 30_000);
    const states = (await statesOf(net.db, app.applicationId)).map((s) => s.state);
    assert.ok(states.indexOf('approved') >= 0 && states.indexOf('approved') < states.indexOf('disbursed'), `approved before disbursed: ${states.join(' → ')}`);
  });

  it('records the redirect claim before the credit report it releases is delivered; the history shows it', async () => {
    const bank = net.banks.get(NINGBO)!;
    const started = await net.platform.startRedirect(NINGBO, RISK);
    assert.equal(started.submitted.status, 202);
    await bank.saveH5Application(started.applicationId, { 'customer.name': '李雷', 'customer.idNumber': '110101199001011234', 'customer.mobile': '13800138000', 'loan.amount': 3_000_000, 'loan.termMonths': 12 });
    await until('the redirect hop reached the bank', () => bank.redirectToken(started.applicationId));
    assert.equal(await bank.claim(started.token), started.applicationId);
    await waitForState(net.platform, started.applicationId, ['platform_notified'], 30_000);
    const history = await statesOf(net.db, started.applicationId);
    const claimed = history.find((s) => s.state === 'claimed_by_bank');
    assert.ok(claimed, `the history shows the claim: ${history.map((s) => s.state).join(' → ')}`);
    const decidedAt = history.findIndex((s) => s.state === 'approved' || s.state === 'declined');
    assert.ok(history.indexOf(claimed) < decidedAt, 'claimed before decided');
    // the bank's own receipt of the credit report is later than the recorded claim
    const report = (await hopsOfApplication(net.db, started.applicationId)).find((h) => h.header.kind === 'credit_report')!;
    const receipt = report.receipts.find((r) => r.by === NINGBO)!;
    assert.ok(Date.parse(receipt.receivedAt) >= claimed.at, 'the credit report reached the bank after the claim was recorded');
    await assert.rejects(bank.claim(started.token), (err: { code?: string }) => err.code === 'REDIRECT_TOKEN_USED', 'a second claim of the token');
  });

  it('takes a claim the bank retries after the router failed between recording it and telling the workflow — once', async () => {
    const bank = net.banks.get(NINGBO)!;
    const started = await net.platform.startRedirect(NINGBO, RISK);
    await bank.saveH5Application(started.applicationId, { 'customer.name': '韩梅梅', 'customer.idNumber': '110101199202021234', 'customer.mobile': '13900139000', 'loan.amount': 3_000_000, 'loan.termMonths': 12 });
    await until('the redirect hop reached the bank', () => bank.redirectToken(started.applicationId));
    // what the router's claim transaction leaves when the router dies before the workflow update
    const claims = readRedirectToken(started.token, net.router.directory.get().signerOf);
    await net.db.transaction(async (trx) => {
      assert.ok(await claimToken(trx, claims.t, Date.now()));
      await appendState(trx, started.applicationId, { state: 'claimed_by_bank' });
    });
    assert.equal(await bank.claim(started.token), started.applicationId, "the bank's retry goes through");
    await waitForState(net.platform, started.applicationId, ['platform_notified'], 30_000);
    await assert.rejects(bank.claim(started.token), (err: { code?: string }) => err.code === 'REDIRECT_TOKEN_USED');
    assert.equal((await statesOf(net.db, started.applicationId)).filter((s) => s.state === 'claimed_by_bank').length, 1);
  });
});
