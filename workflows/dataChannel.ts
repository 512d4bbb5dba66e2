/**
 * One application through the risk-control data channel (风控数据通道模式), with its funding
 * cascade (资方路由): platform → channel (credit product) → bank (decision); on a decline or a
 * decision timeout, the channel's report for the next eligible bank, and so on; the platform
 * learns the outcome.
 *
 * Deterministic and free of I/O and crypto: the workflow carries ids and outcome codes only;
 * the sealed bytes live in the router's store and move in activities, and each activity
 * appends the application's state with its evidence.
 */
import { ActivityCancellationType, proxyLocalActivities } from '@temporalio/workflow';
import type * as activities from '../services/worker/activities';
import { DecisionInbox, type DecisionArrived } from './decisions';
import { noticeHolders, scheduleRetention, withdrawEndedApplication, WithdrawalWatch, type RetentionPolicy } from './lifecycle';

export { decisionUpdate, type DecisionArrived } from './decisions';

export interface ApplicationRef {
  applicationId: string;
  intakeHopId: string;
  /** Eligible banks in the platform's order, each named by the consent, with its timeout. */
  candidates: { bankId: string; decisionTimeoutMs: number }[];
  /** How long the router keeps the sealed payloads afterwards (DEFAULT_RETENTION when absent). */
  retention?: RetentionPolicy;
}

export type ApplicationResult =
  | { status: 'approved'; bankId: string; decisionHopId: string }
  | { status: 'declined' | 'no_funding' | 'expired'; decisionHopId?: string; reasonCode?: string }
  | { status: 'refused'; code: string; stage: string }
  | { status: 'withdrawn'; by: string };

// Deliveries answer in a fraction of a second, so they run as local activities: no activity
// task through the server, only a marker in history — about half of Temporal's cost per
// application. A worker that crashes mid-delivery loses its workflow task; the next worker
// replays and delivers again, and parties answer a redelivered hop with their stored answer,
// so a retry never makes them act twice.
export const { deliverToChannel, requestCreditReport, deliverToBank, deliverRedirect, recordAttempt } = proxyLocalActivities<typeof activities.activityTypes>({
  startToCloseTimeout: '15 seconds',
  // a withdrawal waits for a delivery under way to end: the notice then reaches a party after the
  // hop it concerns, never before it
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  // no longer than parties accept a relayed hop (RELAYED_MAX_AGE_MS): past that, it would be refused as expired
  scheduleToCloseTimeout: '3 days',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '250 ms', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

// The platform must learn the outcome: retried until it acknowledges with a signed receipt, for
// up to 3 days. A local activity too: a platform that answers at once costs the server nothing;
// past 10 s of local retries, the SDK schedules the next attempts with durable timers.
export const { notifyPlatform } = proxyLocalActivities<typeof activities.activityTypes>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '3 days',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

export async function dataChannelApplication(ref: ApplicationRef): Promise<ApplicationResult> {
  const watch = new WithdrawalWatch();
  return conclude(ref.applicationId, watch, () => dataChannelFlow(ref, watch), ref.retention);
}

/**
 * After the flow: on a withdrawal, every party that received the application's data is told
 * (and acknowledges) before the platform learns the application stopped; whatever the outcome,
 * it sets the application's retention, which the retention sweeper acts on.
 */
export async function conclude(applicationId: string, watch: WithdrawalWatch, flow: () => Promise<ApplicationResult>, retention: RetentionPolicy | undefined): Promise<ApplicationResult> {
  let outcome;
  try {
    outcome = await watch.run(flow);
  } catch (err) {
    // whatever failed, the sealed payloads still go when the shorter retention elapses
    await scheduleRetention(applicationId, 'failed', retention);
    throw err;
  }
  const result: ApplicationResult = 'withdrawn' in outcome ? { status: 'withdrawn', by: outcome.withdrawn.by } : outcome.result;
  await scheduleRetention(applicationId, result.status, retention);
  if (result.status === 'withdrawn') {
    await noticeHolders(applicationId, 'consent_withdrawn', 'CONSENT_WITHDRAWN');
    await notifyPlatform({ applicationId, final: 'withdrawn', reasonCode: 'CONSENT_WITHDRAWN' });
  } else if (watch.withdrawn) {
    // withdrawn as the flow was ending: the parties are told now, as after any ended application
    await withdrawEndedApplication({ applicationId });
  }
  return result;
}

async function dataChannelFlow(ref: ApplicationRef, watch: WithdrawalWatch): Promise<ApplicationResult> {
  const { applicationId } = ref;
  const decisions = new DecisionInbox(() => watch.withdrawn !== undefined);

  const first = ref.candidates[0]!;
  const atChannel = await deliverToChannel({ applicationId, hopId: ref.intakeHopId, bankId: first.bankId });
  if (atChannel.status === 'refused') return atChannel;

  let lastDecline: DecisionArrived | undefined;
  for (const [position, { bankId, decisionTimeoutMs }] of ref.candidates.entries()) {
    let reportHopId = atChannel.nextHopId;
    if (position > 0) {
      const report = await requestCreditReport({ applicationId, applicationHopId: ref.intakeHopId, bankId });
      if (report.status === 'refused') {
        await recordAttempt({ applicationId, bankId, position, outcome: 'refused', reasonCode: report.code });
        continue;
      }
      reportHopId = report.nextHopId;
    }
    decisions.expect(bankId);
    const atBank = await deliverToBank({ applicationId, hopId: reportHopId });
    if (atBank.status === 'refused') {
      decisions.stop();
      await recordAttempt({ applicationId, bankId, position, outcome: 'refused', reasonCode: atBank.code });
      continue;
    }
    if (atBank.status === 'decided') decisions.take({ bankId, hopId: atBank.nextHopId, outcome: atBank.outcome, recorded: true });
    const decision = await decisions.wait(bankId, decisionTimeoutMs);
    if (!decision) {
      await recordAttempt({ applicationId, bankId, position, outcome: 'timeout', reasonCode: 'DECISION_TIMEOUT' });
      continue;
    }
    if (!decision.recorded) await recordAttempt({ applicationId, bankId, position, outcome: decision.outcome.status, hopId: decision.hopId, ...(decision.outcome.reasonCode ? { reasonCode: decision.outcome.reasonCode } : {}) });
    if (decision.outcome.status === 'approved') {
      await notifyPlatform({ applicationId, hopId: decision.hopId, final: 'approved' });
      return { status: 'approved', bankId, decisionHopId: decision.hopId };
    }
    lastDecline = decision;
  }

  // No bank approved: one candidate that declined is its decline; otherwise, no funding.
  const final = ref.candidates.length === 1 && lastDecline ? 'declined' : 'no_funding';
  const reasonCode = final === 'declined' ? lastDecline?.outcome.reasonCode : 'NO_FUNDING';
  await notifyPlatform({ applicationId, ...(lastDecline ? { hopId: lastDecline.hopId } : {}), final, ...(reasonCode ? { reasonCode } : {}) });
  return { status: final, ...(lastDecline ? { decisionHopId: lastDecline.hopId } : {}), ...(reasonCode ? { reasonCode } : {}) };
}
