/** A bank's disbursement, told to the platform: retried until it acknowledges with a receipt. */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../services/worker/activities';

const { notifyDisbursement } = proxyActivities<typeof activities.activityTypes>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '3 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

export async function disbursementNotice(ref: { applicationId: string; hopId: string }): Promise<void> {
  await notifyDisbursement(ref);
}
