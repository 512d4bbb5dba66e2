/**
 * `application_attempts`: each bank of an application's funding cascade, in the platform's
 * order — when the credit report was delivered (it counts against the bank's daily quota from
 * then) and what the bank decided.
 */
import type { AttemptOutcome } from '../domain/applications';
import { insertIgnore, toMs, type Conn } from './db';

export interface AttemptRow {
  applicationId: string;
  bankId: string;
  position: number;
  day: string;
  platformId: string;
  outcome?: AttemptOutcome;
  reasonCode?: string;
  hopId?: string;
  deliveredAt?: number;
  decidedAt?: number;
}

function fromRow(r: Record<string, unknown>): AttemptRow {
  return {
    applicationId: r.application_id as string,
    bankId: r.bank_id as string,
    position: Number(r.position),
    day: r.day as string,
    platformId: r.platform_id as string,
    ...(r.outcome ? { outcome: r.outcome as AttemptOutcome } : {}),
    ...(r.reason_code ? { reasonCode: r.reason_code as string } : {}),
    ...(r.hop_id ? { hopId: r.hop_id as string } : {}),
    ...(r.delivered_at != null ? { deliveredAt: toMs(r.delivered_at) } : {}),
    ...(r.decided_at != null ? { decidedAt: toMs(r.decided_at) } : {}),
  };
}

/** The cascade as planned at intake: one row per candidate bank, in order. */
export async function planAttempts(db: Conn, a: { applicationId: string; platformId: string; day: string; bankIds: string[] }): Promise<void> {
  for (const [position, bankId] of a.bankIds.entries()) {
    await insertIgnore(db, 'application_attempts', { application_id: a.applicationId, bank_id: bankId, position, day: a.day, platform_id: a.platformId, created_at: Date.now() }, ['application_id', 'bank_id']);
  }
}

export async function attemptsOf(db: Conn, applicationId: string): Promise<AttemptRow[]> {
  return (await db('application_attempts').where({ application_id: applicationId }).orderBy('position')).map(fromRow);
}

export async function attemptOf(db: Conn, applicationId: string, bankId: string): Promise<AttemptRow | undefined> {
  const r = await db('application_attempts').where({ application_id: applicationId, bank_id: bankId }).first();
  return r ? fromRow(r) : undefined;
}

/** Counted against the bank's daily quota from the moment it is delivered (once). */
export async function markDelivered(db: Conn, applicationId: string, bankId: string, at: number): Promise<void> {
  await db('application_attempts').where({ application_id: applicationId, bank_id: bankId }).whereNull('delivered_at').update({ delivered_at: at });
}

export async function recordAttemptOutcome(
  db: Conn,
  a: { applicationId: string; bankId: string; position?: number; outcome: AttemptOutcome; reasonCode?: string; hopId?: string; at: number },
): Promise<void> {
  await db('application_attempts')
    .where({ application_id: a.applicationId, bank_id: a.bankId })
    .update({ ...(a.position !== undefined ? { position: a.position } : {}), outcome: a.outcome, reason_code: a.reasonCode ?? null, hop_id: a.hopId ?? null, decided_at: a.at });
}

/** How many of a platform's applications were delivered to the bank that day (its quota). */
export async function deliveredCount(db: Conn, platformId: string, bankId: string, day: string): Promise<number> {
  const used = await db('application_attempts').where({ platform_id: platformId, bank_id: bankId, day }).whereNotNull('delivered_at').count({ n: '*' }).first();
  return Number(used?.n ?? 0);
}

/** A platform's bank decisions (approved or declined) decided in [from, to). */
export async function decisionsBetween(db: Conn, platformId: string, from: number, to: number): Promise<AttemptRow[]> {
  const rows = await db('application_attempts')
    .where({ platform_id: platformId })
    .whereIn('outcome', ['approved', 'declined'])
    .andWhere('decided_at', '>=', from)
    .andWhere('decided_at', '<', to)
    .orderBy('decided_at');
  return rows.map(fromRow);
}

