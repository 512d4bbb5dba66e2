/**
 * What every application workflow shares once its data moves: the customer may withdraw consent
 * at any moment, and whatever the outcome, the router keeps the sealed payloads only as long as
 * the retention policy says.
 *
 *  - Withdrawal (the `withdraw` signal, sent by the router's consent API) cancels the flow's
 *    scope at once: a pending delivery, a wait for a bank's decision, a wait for a redirect
 *    claim — all stop. Then every party the application's hops went to gets the router's signed
 *    withdrawal notice, retried until that party acknowledges it with a signed receipt.
 *  - Retention: the outcome sets how long the sealed payloads stay; the retention sweeper (one
 *    long-lived workflow on a durable timer) erases them when that elapses, and for an
 *    application that did not end in a loan asks each party that received its data to delete it.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { CancellationScope, continueAsNew, defineSignal, getExternalWorkflowHandle, isCancellation, ParentClosePolicy, proxyActivities, proxyLocalActivities, setHandler, sleep, startChild } from '@temporalio/workflow';
import type * as activities from '../services/worker/activities';
import type { WithdrawalRequest } from '../services/worker/activities';
import type { NoticeReason } from '../services/evidence/lifecycle';

export interface Withdrawal {
  consentId: string;
  by: string;
  at: string;
}

export const withdrawSignal = defineSignal<[Withdrawal]>('withdraw');

export interface RetentionPolicy {
  /** How long the router keeps the sealed payloads of an application that ended in a loan. */
  approvedMs: number;
  /** … of one that did not (declined, no funding, expired, refused, withdrawn): shorter. */
  otherMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { approvedMs: 30 * 24 * 3600_000, otherMs: 7 * 24 * 3600_000 };

const { holdersOf, setRetention, recordUnacknowledged } = proxyLocalActivities<typeof activities.activityTypes>({ startToCloseTimeout: '15 seconds' });

// A party that is down is asked again and again, more slowly, for up to 30 days: a notice is a
// legal duty, not a best effort. Regular activities, so the retries live on the server's timers.
const { sendNotice, purgeApplication, sweepRetention, markPartyDeletionStarted, recordConsentWithdrawal } = proxyActivities<typeof activities.activityTypes>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '30 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

/**
 * Watches for the customer's withdrawal while the flow runs: the flow's pending step is then
 * cancelled. A withdrawal that arrives after the flow ended is kept (`withdrawn`): the caller
 * then tells the parties as for any ended application.
 */
export class WithdrawalWatch {
  withdrawn: Withdrawal | undefined;
  private readonly scope = new CancellationScope();

  constructor() {
    setHandler(withdrawSignal, (w) => {
      if (this.withdrawn) return;
      this.withdrawn = w;
      this.scope.cancel();
    });
  }

  async run<T>(flow: () => Promise<T>): Promise<{ result: T } | { withdrawn: Withdrawal }> {
    try {
      return { result: await this.scope.run(flow) };
    } catch (err) {
      if (this.withdrawn && isCancellation(err)) return { withdrawn: this.withdrawn };
      throw err;
    }
  }
}

/** Every party that holds the application's data is told, and acknowledges; in parallel. */
export async function noticeHolders(applicationId: string, kind: 'consent_withdrawn' | 'delete_data', reason: NoticeReason): Promise<void> {
  const holders = await holdersOf({ applicationId });
  const sent = await Promise.allSettled(holders.map((to) => sendNotice({ applicationId, to, kind, reason })));
  // a party that never acknowledged in 30 days: the evidence says so, for the regulator to pursue
  const silent = holders.filter((_, i) => sent[i]!.status === 'rejected');
  if (silent.length > 0) await recordUnacknowledged({ applicationId, kind, parties: silent });
}

/**
 * What happens to a withdrawn application that had already ended (a loan granted, say): the
 * parties are told at once and the sealed payloads erased now. Started by the consent API.
 */
export async function withdrawEndedApplication(ref: { applicationId: string }): Promise<void> {
  await noticeHolders(ref.applicationId, 'consent_withdrawn', 'CONSENT_WITHDRAWN');
  await purgeApplication({ applicationId: ref.applicationId, reason: 'CONSENT_WITHDRAWN' });
}

/**
 * A customer's withdrawal, as one durable step: once the router has started it, the withdrawal is
 * recorded and every application it concerns is stopped, whatever crashes meanwhile. A running
 * application is signalled; one that has ended gets `withdrawEndedApplication`.
 */
export async function withdrawConsentWorkflow(w: WithdrawalRequest): Promise<{ applicationId: string; stopped: boolean }[]> {
  const plan = await recordConsentWithdrawal(w);
  const signal: Withdrawal = { consentId: w.consentId, by: w.by, at: w.actedAt };
  const answer = [];
  for (const p of plan) {
    if (p.stops) {
      try {
        await getExternalWorkflowHandle(p.workflowId).signal(withdrawSignal, signal);
      } catch {
        // it has ended: its parties are told, and its payloads erased, now
        try {
          await startChild(withdrawEndedApplication, { workflowId: `dzl-withdraw-${p.applicationId}`, args: [{ applicationId: p.applicationId }], parentClosePolicy: ParentClosePolicy.ABANDON });
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
      }
    }
    answer.push({ applicationId: p.applicationId, stopped: p.stops });
  }
  return answer;
}

/** Asks every party that received a declined (or otherwise unfunded) application's data to delete it. */
export async function deleteAtParties(ref: { applicationId: string; reason: NoticeReason }): Promise<void> {
  await noticeHolders(ref.applicationId, 'delete_data', ref.reason);
}

const SWEEPS_PER_RUN = 500;

/**
 * The retention sweeper, one per router store: on a durable timer, it erases the sealed payloads
 * of every application whose retention has elapsed, and hands each one that ended without a loan
 * to its own `deleteAtParties` workflow (a party that is down must not hold up the others).
 * An application's workflow ends with its outcome; the sweeper is the only long-lived workflow.
 */
export async function retentionSweeper(): Promise<void> {
  for (let i = 0; i < SWEEPS_PER_RUN; i++) {
    const swept = await sweepRetention({ limit: 200 });
    for (const a of swept.askParties) {
      try {
        await startChild(deleteAtParties, { workflowId: `dzl-delete-${a.applicationId}`, args: [a], parentClosePolicy: ParentClosePolicy.ABANDON });
      } catch (err) {
        // started by an earlier sweep that did not get to mark it: nothing more to do
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
    await markPartyDeletionStarted({ applicationIds: swept.askParties.map((a) => a.applicationId) });
    if (swept.sleepMs > 0) await sleep(swept.sleepMs);
  }
  // a fresh history, the same sweeper
  await continueAsNew<typeof retentionSweeper>();
}

/** The application's outcome sets its retention; the sweeper acts on it when it elapses. */
export async function scheduleRetention(applicationId: string, status: string, policy: RetentionPolicy | undefined): Promise<void> {
  const p = policy ?? DEFAULT_RETENTION;
  const reason: NoticeReason =
    status === 'approved' ? 'RETENTION_ELAPSED' : status === 'withdrawn' ? 'CONSENT_WITHDRAWN' : status === 'declined' ? 'DECLINED' : status === 'no_funding' ? 'NO_FUNDING' : status === 'expired' ? 'EXPIRED' : status === 'failed' ? 'FAILED' : 'REFUSED';
  await setRetention({ applicationId, retainMs: status === 'approved' ? p.approvedMs : p.otherMs, reason });
}
