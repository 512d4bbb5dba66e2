/**
 * The application workflows alone, with scripted activities (test/support/workflowHarness.ts):
 * the cascade, a decision timeout, a late decision, a withdrawal, the redirect claim — fast and
 * deterministic (the test decides when each activity answers; timeouts are a few hundred ms of the
 * workflow's own timers, never a sleep of the test's).
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import {
  awaitingQuery,
  claimUpdate,
  decisionUpdate,
  withdrawSignal,
  type ApplicationRef,
  type ApplicationResult,
  type DecisionResult,
  type RedirectRef,
} from '../../services/orchestration/contract';
import { dzlErrorOf } from '../../services/orchestration/failures';
import { dataChannelApplication } from '../../workflows/dataChannel';
import { directRedirectApplication } from '../../workflows/directRedirect';
import { withdrawConsentWorkflow } from '../../workflows/lifecycle';
import { deferred, keepHistory, scriptedActivities, workflowHarness, type Harness } from '../support/workflowHarness';

const decided = (status: 'approved' | 'declined', bank: string, reasonCode?: string) => async (): Promise<DecisionResult> => ({
  status: 'decided',
  nextHopId: `hop-decision-${bank}`,
  outcome: { status, ...(reasonCode ? { reasonCode } : {}) },
});

function appRef(banks: [string, number][]): ApplicationRef {
  return { applicationId: `app_${randomUUID()}`, intakeHopId: 'hop-application', candidates: banks.map(([bankId, decisionTimeoutMs]) => ({ bankId, decisionTimeoutMs })) };
}

/** The code a rejected update carries to the router, as the router reads it. */
async function updateRefusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return dzlErrorOf(err)?.code ?? 'NO_CODE';
  }
  return undefined;
}

describe('application workflows with scripted activities — real Temporal dev server', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => {
    h = await workflowHarness();
  });
  after(async () => h?.close());

  const start = <A>(wf: (a: A) => Promise<ApplicationResult>, ref: A, id = `wf-${randomUUID()}`): Promise<WorkflowHandle<(a: A) => Promise<ApplicationResult>>> =>
    h.client.workflow.start(wf, { taskQueue: h.taskQueue, workflowId: id, args: [ref] });

  it('cascades past a decline to the next bank, which approves', async () => {
    const { activities, recorded } = scriptedActivities({ banks: { 'bank-a': decided('declined', 'bank-a', 'SCORE_BELOW_CUTOFF'), 'bank-b': decided('approved', 'bank-b') } });
    const result = await h.run(activities, async () => {
      const handle = await start(dataChannelApplication, appRef([['bank-a', 5000], ['bank-b', 5000]]));
      const r = await handle.result();
      await keepHistory('data-channel-cascade', handle);
      return r;
    });
    assert.deepEqual(result, { status: 'approved', bankId: 'bank-b', decisionHopId: 'hop-decision-bank-b' });
    // both decisions came with their deliveries: the delivery recorded them, the workflow adds none
    assert.deepEqual(recorded.attempts, []);
    assert.deepEqual(recorded.notified, [{ final: 'approved', hopId: 'hop-decision-bank-b' }]);
    assert.deepEqual(recorded.retention, [{ reason: 'RETENTION_ELAPSED' }]);
  });

  it('ends in no_funding when every bank declines, and in declined with one candidate', async () => {
    const { activities, recorded } = scriptedActivities({ banks: { 'bank-a': decided('declined', 'bank-a', 'X_ONE'), 'bank-b': decided('declined', 'bank-b', 'X_TWO') } });
    const [two, one] = await h.run(activities, async () => [
      await (await start(dataChannelApplication, appRef([['bank-a', 5000], ['bank-b', 5000]]))).result(),
      await (await start(dataChannelApplication, appRef([['bank-a', 5000]]))).result(),
    ]);
    assert.deepEqual(two, { status: 'no_funding', decisionHopId: 'hop-decision-bank-b', reasonCode: 'NO_FUNDING' });
    assert.deepEqual(one, { status: 'declined', decisionHopId: 'hop-decision-bank-a', reasonCode: 'X_ONE' });
    assert.deepEqual(recorded.notified.map((n) => n.final), ['no_funding', 'declined']);
  });

  it('times out a bank that never decides, refuses its late decision with DECISION_TOO_LATE, and moves on', async () => {
    const bankBAsked = deferred();
    const { activities, recorded } = scriptedActivities({
      banks: {
        'bank-a': async () => ({ status: 'delivered' }),
        'bank-b': async () => (bankBAsked.resolve(), { status: 'delivered' }),
      },
    });
    const { result, late, awaiting } = await h.run(activities, async () => {
      const handle = await start(dataChannelApplication, appRef([['bank-a', 300], ['bank-b', 10_000]]));
      await bankBAsked.promise; // bank-a's 300 ms have passed: the cascade asked bank-b
      const awaiting = await handle.query(awaitingQuery);
      const late = await updateRefusal(handle.executeUpdate(decisionUpdate, { args: [{ bankId: 'bank-a', hopId: 'hop-late', outcome: { status: 'approved' } }] }));
      await handle.executeUpdate(decisionUpdate, { args: [{ bankId: 'bank-b', hopId: 'hop-decision-bank-b', outcome: { status: 'approved' } }] });
      const result = await handle.result();
      await keepHistory('data-channel-timeout', handle);
      return { result, late, awaiting };
    });
    assert.equal(awaiting, 'bank-b');
    assert.equal(late, 'DECISION_TOO_LATE');
    assert.deepEqual(
      recorded.attempts.map((a) => [a.bankId, a.position, a.outcome, a.reasonCode ?? a.hopId]),
      [['bank-a', 0, 'timeout', 'DECISION_TIMEOUT'], ['bank-b', 1, 'approved', 'hop-decision-bank-b']],
    );
    assert.deepEqual(result, { status: 'approved', bankId: 'bank-b', decisionHopId: 'hop-decision-bank-b' });
  });

  it('times out a bank that cannot be reached within its decision timeout (retrying only until then), and moves on', async () => {
    let attempts = 0;
    const { activities, recorded } = scriptedActivities({
      banks: {
        'bank-a': async () => {
          attempts++;
          throw new Error('14 UNAVAILABLE: connection refused'); // a transport failure: retried
        },
        'bank-b': decided('approved', 'bank-b'),
      },
    });
    const result = await h.run(activities, async () => (await start(dataChannelApplication, appRef([['bank-a', 1500], ['bank-b', 5000]]))).result());
    assert.ok(attempts >= 2, 'a transport failure is retried');
    assert.deepEqual(recorded.attempts.map((a) => [a.bankId, a.outcome, a.reasonCode]), [['bank-a', 'timeout', 'DECISION_TIMEOUT']]);
    assert.deepEqual(result, { status: 'approved', bankId: 'bank-b', decisionHopId: 'hop-decision-bank-b' });
  });

  it('tells the platform when the application is refused (a channel answer that cannot be taken)', async () => {
    const { activities, recorded } = scriptedActivities({ channel: async () => ({ status: 'refused', code: 'PARTY_ANSWER_INVALID', stage: 'platform→channel' }), banks: {} });
    const result = await h.run(activities, async () => (await start(dataChannelApplication, appRef([['bank-a', 5000]]))).result());
    assert.deepEqual(result, { status: 'refused', code: 'PARTY_ANSWER_INVALID', stage: 'platform→channel' });
    assert.deepEqual(recorded.notified, [{ final: 'refused', reasonCode: 'PARTY_ANSWER_INVALID' }]);
    assert.deepEqual(recorded.retention, [{ reason: 'REFUSED' }]);
  });

  it('takes an asynchronous decision by update while the bank is awaited', async () => {
    const delivered = deferred();
    const { activities, recorded } = scriptedActivities({ banks: { 'bank-a': async () => (delivered.resolve(), { status: 'delivered' }) } });
    const result = await h.run(activities, async () => {
      const handle = await start(dataChannelApplication, appRef([['bank-a', 10_000]]));
      await delivered.promise;
      await handle.executeUpdate(decisionUpdate, { args: [{ bankId: 'bank-a', hopId: 'hop-async', outcome: { status: 'declined', reasonCode: 'INCOME_TOO_LOW' } }] });
      return handle.result();
    });
    assert.deepEqual(result, { status: 'declined', decisionHopId: 'hop-async', reasonCode: 'INCOME_TOO_LOW' });
    assert.deepEqual(recorded.attempts.map((a) => [a.bankId, a.outcome, a.hopId]), [['bank-a', 'declined', 'hop-async']]);
  });

  it('stops at a withdrawal while a bank decides: notices first, then the platform; a decision meanwhile is refused with CONSENT_WITHDRAWN', async () => {
    const delivered = deferred();
    const noticeAsked = deferred();
    const letNoticeGo = deferred();
    const { activities, recorded } = scriptedActivities({
      banks: { 'bank-a': async () => (delivered.resolve(), { status: 'delivered' }) },
      holders: ['channel-a', 'bank-a'],
      notice: async (to) => {
        if (to === 'bank-a') {
          noticeAsked.resolve();
          await letNoticeGo.promise;
        }
      },
    });
    const { result, refusedWith } = await h.run(activities, async () => {
      const handle = await start(dataChannelApplication, appRef([['bank-a', 30_000]]));
      await delivered.promise;
      await handle.signal(withdrawSignal, { consentId: 'consent-1', by: 'platform-a', at: new Date().toISOString() });
      await noticeAsked.promise; // the flow is stopped and the notices are out; the workflow still runs
      const refusedWith = await updateRefusal(handle.executeUpdate(decisionUpdate, { args: [{ bankId: 'bank-a', hopId: 'hop-after', outcome: { status: 'approved' } }] }));
      letNoticeGo.resolve();
      const result = await handle.result();
      await keepHistory('data-channel-withdrawal', handle);
      return { result, refusedWith };
    });
    assert.equal(refusedWith, 'CONSENT_WITHDRAWN');
    assert.deepEqual(result, { status: 'withdrawn', by: 'platform-a' });
    assert.deepEqual(recorded.notices.map((n) => [n.to, n.kind]).sort(), [['bank-a', 'consent_withdrawn'], ['channel-a', 'consent_withdrawn']]);
    assert.deepEqual(recorded.notified, [{ final: 'withdrawn', reasonCode: 'CONSENT_WITHDRAWN' }]);
    assert.deepEqual(recorded.retention, [{ reason: 'CONSENT_WITHDRAWN' }]);
  });

  it('in the redirect model, delivers the credit report only after the claim, and refuses a second claim with REDIRECT_TOKEN_USED', async () => {
    const order: string[] = [];
    const redirected = deferred();
    const reportDelivered = deferred();
    const { activities } = scriptedActivities({ banks: { 'bank-a': async () => (order.push('credit report delivered'), reportDelivered.resolve(), { status: 'delivered' }) } });
    activities.deliverRedirect = async () => (redirected.resolve(), order.push('token handed over'), { status: 'delivered' });
    const ref: RedirectRef = { applicationId: `app_${randomUUID()}`, riskHopId: 'hop-risk', redirectHopId: 'hop-redirect', bankId: 'bank-a', claimTimeoutMs: 30_000, decisionTimeoutMs: 10_000 };
    const { result, second } = await h.run(activities, async () => {
      const handle = await start(directRedirectApplication, ref);
      await redirected.promise;
      order.push('claimed');
      await handle.executeUpdate(claimUpdate);
      await reportDelivered.promise;
      const second = await updateRefusal(handle.executeUpdate(claimUpdate));
      await handle.executeUpdate(decisionUpdate, { args: [{ bankId: 'bank-a', hopId: 'hop-decision-bank-a', outcome: { status: 'approved' } }] });
      const result = await handle.result();
      await keepHistory('direct-redirect', handle);
      return { result, second };
    });
    assert.deepEqual(order, ['token handed over', 'claimed', 'credit report delivered']);
    assert.equal(second, 'REDIRECT_TOKEN_USED');
    assert.deepEqual(result, { status: 'approved', bankId: 'bank-a', decisionHopId: 'hop-decision-bank-a' });
  });

  it('in the redirect model, expires when the customer never applies', async () => {
    const { activities, recorded } = scriptedActivities({ banks: {} });
    const ref: RedirectRef = { applicationId: `app_${randomUUID()}`, riskHopId: 'hop-risk', redirectHopId: 'hop-redirect', bankId: 'bank-a', claimTimeoutMs: 200, decisionTimeoutMs: 5000 };
    const result = await h.run(activities, async () => (await start(directRedirectApplication, ref)).result());
    assert.deepEqual(result, { status: 'expired', reasonCode: 'REDIRECT_NOT_CLAIMED' });
    assert.deepEqual(recorded.notified, [{ final: 'expired', reasonCode: 'REDIRECT_NOT_CLAIMED' }]);
  });

  it('a withdrawal signals the running application it stops, and hands an ended one to withdrawEndedApplication', async () => {
    const delivered = deferred();
    const { activities, recorded } = scriptedActivities({ banks: { 'bank-a': async () => (delivered.resolve(), { status: 'delivered' }) }, holders: ['channel-a'] });
    const running = `wf-of-consent-running-${randomUUID()}`;
    activities.recordConsentWithdrawal = async () => [
      { applicationId: 'app-running', workflowId: running, stops: true },
      { applicationId: 'app-ended', workflowId: `wf-never-started-${randomUUID()}`, stops: true },
      { applicationId: 'app-untouched', workflowId: 'wf-untouched', stops: false },
    ];
    const { answer, stopped } = await h.run(activities, async () => {
      const app = await start(dataChannelApplication, appRef([['bank-a', 30_000]]), running);
      await delivered.promise;
      const withdrawal = await h.client.workflow.start(withdrawConsentWorkflow, { taskQueue: h.taskQueue, workflowId: `withdrawal-${randomUUID()}`, args: [{ consentId: 'consent-w', by: 'platform-a', actedAt: new Date().toISOString() }] });
      const answer = await withdrawal.result();
      await keepHistory('withdrawal', withdrawal);
      const stopped = await app.result();
      // the ended application's own workflow: notices, then its payloads erased
      await h.client.workflow.getHandle('dzl-withdraw-app-ended').result();
      return { answer, stopped };
    });
    assert.deepEqual(answer, [
      { applicationId: 'app-running', stopped: true },
      { applicationId: 'app-ended', stopped: true },
      { applicationId: 'app-untouched', stopped: false },
    ]);
    assert.equal(stopped.status, 'withdrawn');
    assert.deepEqual(recorded.purged, ['app-ended']);
  });
});
