/**
 * Retention: the router keeps an application's sealed payloads only as long as its outcome says,
 * then erases them — keeping every signed header, which is what the evidence holds — and records
 * the erasure, in one transaction per application.
 */
import type { NoticeReason } from '../domain/notices';
import { recordDeletion } from '../ledger/ledger';
import { appendState } from '../store/applicationStates';
import { awaitingPartyDeletion, dueForErasure, markPayloadsErased, nextRetentionDue, type RetentionDue } from '../store/applications';
import { transact, type Db } from '../store/db';
import { erasePayloads } from '../store/sealedHops';

/** Erases the sealed payloads and records the deletion, once per application whoever asks. */
export async function purgeApplication(db: Db, applicationId: string, reason: NoticeReason): Promise<void> {
  await transact(db, async (trx) => {
    const now = Date.now();
    const hops = await erasePayloads(trx, applicationId, now);
    await recordDeletion(trx, { applicationId, reason, hops });
    await appendState(trx, applicationId, { state: 'payloads_erased', reasonCode: reason });
    await markPayloadsErased(trx, applicationId, now);
  });
}

export interface Sweep {
  erased: RetentionDue[];
  /** Erased applications whose parties are still to be asked to delete (a crashed sweep's too). */
  askParties: RetentionDue[];
  /** How long until the next retention falls due (0: more are due now). */
  sleepMs: number;
}

/** One sweep: erases, oldest first, up to `limit` applications whose retention has elapsed. */
export async function sweepRetention(db: Db, limit: number, maxSleepMs: number, now = Date.now()): Promise<Sweep> {
  const due = await dueForErasure(db, now, limit);
  for (const a of due) await purgeApplication(db, a.applicationId, a.reason);
  const askParties = await awaitingPartyDeletion(db, limit);
  const nextAt = (await nextRetentionDue(db)) ?? Infinity;
  const sleepMs = due.length === limit ? 0 : Math.max(50, Math.min(maxSleepMs, nextAt - now));
  return { erased: due, askParties, sleepMs };
}
