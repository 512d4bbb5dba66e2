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
import { CancellationScope, continueAsNew, getExternalWorkflowHandle, isCancellation, ParentClosePolicy, setHandler, sleep, startChild } from '@temporalio/workflow';
import type { NoticeKind, NoticeReason } from '../services/domain/notices';
import {
  DEFAULT_RETENTION,
  withdrawSignal,
  workflowIds,
  type ApplicationResult,
  type RetentionPolicy,
  type Withdrawal,
  type WithdrawalRequest,
} from '../services/orchestration/contract';
import { callbacks, duties, quick } from './activities';

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
    await callbacks.notifyPlatform({ applicationId, final: 'withdrawn', reasonCode: 'CONSENT_WITHDRAWN' });
  } else if (watch.withdrawn) {
    // withdrawn as the flow was ending: the parties are told now, as after any ended application
    await withdrawEndedApplication({ applicationId });
  }
  return result;
}

/** Every party that holds the application's data is told, and acknowledges; in parallel. */
export async function noticeHolders(applicationId: string, kind: NoticeKind, reason: NoticeReason): Promise<void> {
  const holders = await quick.holdersOf({ applicationId });
  const sent = await Promise.allSettled(holders.map((to) => duties.sendNotice({ applicationId, to, kind, reason })));
  // a party that never acknowledged in 30 days: the evidence says so, for the regulator to pursue
  const silent = holders.filter((_, i) => sent[i]!.status === 'rejected');
  if (silent.length > 0) await quick.recordUnacknowledged({ applicationId, kind, parties: silent });
}

/**
 * What happens to a withdrawn application that had already ended (a loan granted, say): the
 * parties are told at once and the sealed payloads erased now. Started by the consent API.
 */
export async function withdrawEndedApplication(ref: { applicationId: string }): Promise<void> {
  await noticeHolders(ref.applicationId, 'consent_withdrawn', 'CONSENT_WITHDRAWN');
  await duties.purgeApplication({ applicationId: ref.applicationId, reason: 'CONSENT_WITHDRAWN' });
}

/**
 * A customer's withdrawal, as one durable step: once the router has started it, the withdrawal is
 * recorded and every application it concerns is stopped, whatever crashes meanwhile. A running
 * application is signalled; one that has ended gets `withdrawEndedApplication`.
 */
export async function withdrawConsentWorkflow(w: WithdrawalRequest): Promise<{ applicationId: string; stopped: boolean }[]> {
  const plan = await duties.recordConsentWithdrawal(w);
  const signal: Withdrawal = { consentId: w.consentId, by: w.by, at: w.actedAt };
  const answer = [];
  for (const p of plan) {
    if (p.stops) {
      try {
        await getExternalWorkflowHandle(p.workflowId).signal(withdrawSignal, signal);
      } catch {
        // it has ended: its parties are told, and its payloads erased, now
        try {
          await startChild(withdrawEndedApplication, { workflowId: workflowIds.withdrawEnded(p.applicationId), args: [{ applicationId: p.applicationId }], parentClosePolicy: ParentClosePolicy.ABANDON });
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
    const swept = await duties.sweepRetention({ limit: 200 });
    for (const a of swept.askParties) {
      try {
        await startChild(deleteAtParties, { workflowId: workflowIds.deleteAtParties(a.applicationId), args: [a], parentClosePolicy: ParentClosePolicy.ABANDON });
      } catch (err) {
        // started by an earlier sweep that did not get to mark it: nothing more to do
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
    await duties.markPartyDeletionStarted({ applicationIds: swept.askParties.map((a) => a.applicationId) });
    if (swept.sleepMs > 0) await sleep(swept.sleepMs);
  }
  // a fresh history, the same sweeper
  await continueAsNew<typeof retentionSweeper>();
}

const RETENTION_REASONS: Record<ApplicationResult['status'] | 'failed', NoticeReason> = {
  approved: 'RETENTION_ELAPSED',
  withdrawn: 'CONSENT_WITHDRAWN',
  declined: 'DECLINED',
  no_funding: 'NO_FUNDING',
  expired: 'EXPIRED',
  refused: 'REFUSED',
  failed: 'FAILED',
};

/** The application's outcome sets its retention; the sweeper acts on it when it elapses. */
export async function scheduleRetention(applicationId: string, status: ApplicationResult['status'] | 'failed', policy: RetentionPolicy | undefined): Promise<void> {
  const p = policy ?? DEFAULT_RETENTION;
  await quick.setRetention({ applicationId, retainMs: status === 'approved' ? p.approvedMs : p.otherMs, reason: RETENTION_REASONS[status] });
}
