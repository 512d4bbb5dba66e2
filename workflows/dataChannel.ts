/**
 * One application through the risk-control data channel (风控数据通道模式):
 * platform → channel (credit product) → bank (decision) → platform (outcome).
 *
 * Deterministic and free of I/O and crypto: the workflow carries ids and outcome codes only;
 * the sealed bytes live in the router's store and move in activities, and each activity
 * appends the application's state with its evidence (one round trip per hop, not two).
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type * as activities from '../services/worker/activities';

export interface ApplicationRef {
  applicationId: string;
  intakeHopId: string;
}

export type ApplicationResult =
  | { status: 'approved' | 'declined'; decisionHopId: string; reasonCode?: string }
  | { status: 'refused'; code: string; stage: string };

// Deliveries answer in a fraction of a second, so they run as local activities: no activity
// task through the server, only a marker in history — about half of Temporal's cost per
// application. A worker that crashes mid-delivery loses its workflow task; the next worker
// replays and delivers again, and parties answer a redelivered hop with their stored answer,
// so a retry never makes them act twice.
const { deliverToChannel, deliverToBank } = proxyLocalActivities<typeof activities.activityTypes>({
  startToCloseTimeout: '15 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '250 ms', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

// The platform must learn the outcome: retried until it acknowledges with a signed receipt.
const { notifyPlatform } = proxyActivities<typeof activities.activityTypes>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '3 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

export async function dataChannelApplication(ref: ApplicationRef): Promise<ApplicationResult> {
  const { applicationId } = ref;
  const atChannel = await deliverToChannel({ applicationId, hopId: ref.intakeHopId });
  if (atChannel.status === 'refused') return atChannel;

  const atBank = await deliverToBank({ applicationId, hopId: atChannel.nextHopId });
  if (atBank.status === 'refused') return atBank;

  await notifyPlatform({ applicationId, hopId: atBank.nextHopId });
  return { status: atBank.outcome.status, decisionHopId: atBank.nextHopId, ...(atBank.outcome.reasonCode ? { reasonCode: atBank.outcome.reasonCode } : {}) };
}
