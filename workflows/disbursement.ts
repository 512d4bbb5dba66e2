/** A bank's disbursement, told to the platform: retried until it acknowledges with a receipt. */
import type { HopRef } from '../services/orchestration/contract';
import { disbursementCallback } from './activities';

export async function disbursementNotice(ref: HopRef): Promise<void> {
  await disbursementCallback.notifyDisbursement(ref);
}
