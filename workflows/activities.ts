/**
 * The activities a workflow calls, by interface (services/orchestration/contract.ts), each with
 * the timeouts and retries its kind of work needs.
 */
import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { CallbackActivities, DeliveryActivities, LifecycleActivities, NoticeActivities } from '../services/orchestration/contract';

// Deliveries answer in a fraction of a second, so they run as local activities: no activity
// task through the server, only a marker in history — about half of Temporal's cost per
// application. A worker that crashes mid-delivery loses its workflow task; the next worker
// replays and delivers again, and parties answer a redelivered hop with their stored answer,
// so a retry never makes them act twice.
const DELIVERY = {
  startToCloseTimeout: '15 seconds',
  // a withdrawal waits for a delivery under way to end: the notice then reaches a party after the
  // hop it concerns, never before it
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  // no longer than parties accept a relayed hop (RELAYED_MAX_AGE_MS): past that, it would be refused as expired
  scheduleToCloseTimeout: '3 days',
  localRetryThreshold: '10 seconds',
  // only transport failures are thrown (and so retried); a party's answer, whatever it is, is a result
  retry: { initialInterval: '250 ms', backoffCoefficient: 2, maximumInterval: '10 seconds' },
} as const;

export const delivery = proxyLocalActivities<DeliveryActivities>(DELIVERY);

/**
 * A bank's delivery, retried only within its decision timeout: a bank that cannot be reached, or
 * never answers, is timed out like one that answers too late (envelope.md §12.1).
 */
export function bankDelivery(decisionTimeoutMs: number): Pick<DeliveryActivities, 'deliverToBank'> {
  return proxyLocalActivities<Pick<DeliveryActivities, 'deliverToBank'>>({ ...DELIVERY, scheduleToCloseTimeout: Math.max(1000, decisionTimeoutMs), localRetryThreshold: '2 seconds' });
}

// The platform must learn the outcome: retried until it acknowledges with a signed receipt, for
// up to 3 days. A local activity too: a platform that answers at once costs the server nothing;
// past 10 s of local retries, the SDK schedules the next attempts with durable timers.
export const callbacks = proxyLocalActivities<CallbackActivities>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '3 days',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** A disbursement notice runs in its own workflow: regular activities, retried on the server's timers. */
export const disbursementCallback = proxyActivities<Pick<CallbackActivities, 'notifyDisbursement'>>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '3 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** Reads and single writes that answer at once. */
export const quick = proxyLocalActivities<Pick<NoticeActivities, 'holdersOf' | 'recordUnacknowledged'> & Pick<LifecycleActivities, 'setRetention'>>({
  startToCloseTimeout: '15 seconds',
});

// A party that is down is asked again and again, more slowly, for up to 30 days: a notice is a
// legal duty, not a best effort. Regular activities, so the retries live on the server's timers.
export const duties = proxyActivities<Pick<NoticeActivities, 'sendNotice'> & Omit<LifecycleActivities, 'setRetention'>>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '30 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});
