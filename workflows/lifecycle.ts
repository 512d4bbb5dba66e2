/**
 * What every application workflow shares once its data moves: the customer may withdraw consent
 * at any moment, and whatever the outcome, the router keeps the sealed payloads only as long as
 * the retention policy says.
 *
 *  - Withdrawal (the `withdraw` signal, sent by the router's consent API) cancels the flow's
 *    scope at once: a pending delivery, a wait for a bank's decision, a wait for a redirect
 *    claim — all stop. Then every party the application's hops went to gets the router's signed
 *    withdrawal notice, retried until that party acknowledges it with a signed receipt.
 *  - Retention: a child workflow (it outlives this one) sleeps for the retention period on a
 *    durable timer, erases the sealed payloads, and for an application that did not end in a
 *    loan asks each party that received its data to delete it.
 */
import { CancellationScope, type ChildWorkflowHandle, condition, defineSignal, isCancellation, ParentClosePolicy, proxyActivities, proxyLocalActivities, setHandler, startChild } from '@temporalio/workflow';
import type * as activities from '../services/worker/activities';
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

const { holdersOf } = proxyLocalActivities<typeof activities.activityTypes>({ startToCloseTimeout: '15 seconds' });

// A party that is down is asked again and again, more slowly, for up to 30 days: a notice is a
// legal duty, not a best effort. Regular activities, so the retries live on the server's timers.
const { sendNotice, purgeApplication } = proxyActivities<typeof activities.activityTypes>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '30 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

/**
 * Watches for the customer's withdrawal while the flow runs: the flow's pending step is then
 * cancelled. A withdrawal that arrives after the flow ended is kept (`withdrawn`) for the caller
 * to pass on to the retention timer.
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
  await Promise.all(holders.map((to) => sendNotice({ applicationId, to, kind, reason })));
}

export interface RetentionRef {
  applicationId: string;
  retainMs: number;
  reason: NoticeReason;
  /** Ask the parties to delete too (the application did not end in a loan, and was not withdrawn: then they were asked already). */
  askParties: boolean;
}

/**
 * The retention timer. A withdrawal after the application ended (a loan already granted, say)
 * reaches this workflow instead: the parties are told at once and the payloads erased now.
 */
export async function retainApplication(ref: RetentionRef): Promise<void> {
  let lateWithdrawal = false;
  // a withdrawn application's parties were told already: a second withdrawal changes nothing
  setHandler(withdrawSignal, () => void (lateWithdrawal = ref.reason !== 'CONSENT_WITHDRAWN'));
  if (await condition(() => lateWithdrawal, ref.retainMs)) {
    await noticeHolders(ref.applicationId, 'consent_withdrawn', 'CONSENT_WITHDRAWN');
    await purgeApplication({ applicationId: ref.applicationId, reason: 'CONSENT_WITHDRAWN' });
    return;
  }
  await purgeApplication({ applicationId: ref.applicationId, reason: ref.reason });
  if (ref.askParties) await noticeHolders(ref.applicationId, 'delete_data', ref.reason);
}

/** Hands the application to its retention timer, which outlives this workflow. */
export async function startRetention(applicationId: string, status: string, policy: RetentionPolicy | undefined): Promise<ChildWorkflowHandle<typeof retainApplication>> {
  const p = policy ?? DEFAULT_RETENTION;
  const reason: NoticeReason =
    status === 'approved' ? 'RETENTION_ELAPSED' : status === 'withdrawn' ? 'CONSENT_WITHDRAWN' : status === 'declined' ? 'DECLINED' : status === 'no_funding' ? 'NO_FUNDING' : status === 'expired' ? 'EXPIRED' : 'REFUSED';
  return startChild(retainApplication, {
    workflowId: `dzl-retain-${applicationId}`,
    args: [{ applicationId, retainMs: status === 'approved' ? p.approvedMs : p.otherMs, reason, askParties: status !== 'approved' && status !== 'withdrawn' }],
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
}
