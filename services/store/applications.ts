/**
 * The `applications` table: one row per application the router accepted, keyed by its id and
 * by (platform, idempotency key), with its retention once its workflow has ended.
 */
import { DzlError } from '../common/errors';
import type { Model } from '../domain/hops';
import type { NoticeReason } from '../domain/notices';
import { insertIgnore, toMs, type Conn } from './db';

export interface ApplicationRow {
  id: string;
  platformId: string;
  idempotencyKey: string;
  requestHash: string;
  workflowId: string;
  model: Model;
  channelId: string;
  bankId: string;
  consentId: string;
  callbackUrl: string | null;
  intakeHopId: string;
  createdAt: number;
  /** Set once retention erased the sealed payloads: nothing more is taken into custody for it. */
  payloadsErasedAt?: number;
}

function fromRow(r: Record<string, unknown>): ApplicationRow {
  return {
    id: r.id as string,
    platformId: r.platform_id as string,
    idempotencyKey: r.idempotency_key as string,
    requestHash: r.request_hash as string,
    workflowId: r.workflow_id as string,
    model: r.model as Model,
    channelId: r.channel_id as string,
    bankId: r.bank_id as string,
    consentId: r.consent_id as string,
    callbackUrl: (r.callback_url as string | null) ?? null,
    intakeHopId: r.intake_hop_id as string,
    createdAt: toMs(r.created_at),
    ...(r.payloads_erased_at != null ? { payloadsErasedAt: toMs(r.payloads_erased_at) } : {}),
  };
}

/** Inserts unless (platform, idempotency key) exists; returns the row that stands either way. */
export async function insertApplication(db: Conn, a: Omit<ApplicationRow, 'payloadsErasedAt'>): Promise<{ created: boolean; row: ApplicationRow }> {
  const created = await insertIgnore(db, 'applications', {
    id: a.id,
    platform_id: a.platformId,
    idempotency_key: a.idempotencyKey,
    request_hash: a.requestHash,
    workflow_id: a.workflowId,
    model: a.model,
    channel_id: a.channelId,
    bank_id: a.bankId,
    consent_id: a.consentId,
    callback_url: a.callbackUrl,
    intake_hop_id: a.intakeHopId,
    created_at: a.createdAt,
  });
  const row = await findByIdempotencyKey(db, a.platformId, a.idempotencyKey);
  if (!row) {
    throw new DzlError('REQUEST_MALFORMED', 'this application id is already used by another of your requests; seal each application under a new id');
  }
  return { created, row };
}

export async function findByIdempotencyKey(db: Conn, platformId: string, key: string): Promise<ApplicationRow | undefined> {
  const r = await db('applications').where({ platform_id: platformId, idempotency_key: key }).first();
  return r ? fromRow(r) : undefined;
}

export async function getApplication(db: Conn, id: string): Promise<ApplicationRow | undefined> {
  const r = await db('applications').where({ id }).first();
  return r ? fromRow(r) : undefined;
}

/** The applications that cite a consent, oldest first. */
export async function applicationsCiting(db: Conn, consentId: string): Promise<ApplicationRow[]> {
  return (await db('applications').where({ consent_id: consentId }).orderBy('created_at')).map(fromRow);
}

/** The outcome fixes how long the sealed payloads stay; set once, by the first to ask. */
export async function setRetention(db: Conn, applicationId: string, retainUntil: number, reason: NoticeReason): Promise<void> {
  await db('applications').where({ id: applicationId }).whereNull('retain_until').update({ retain_until: retainUntil, retention_reason: reason });
}

export async function markPayloadsErased(db: Conn, applicationId: string, at: number): Promise<void> {
  await db('applications').where({ id: applicationId }).whereNull('payloads_erased_at').update({ payloads_erased_at: at });
}

export interface RetentionDue {
  applicationId: string;
  reason: NoticeReason;
}

/** Applications whose retention has elapsed and whose payloads are still held, oldest first. */
export async function dueForErasure(db: Conn, now: number, limit: number): Promise<RetentionDue[]> {
  const rows = await db('applications').where('retain_until', '<=', now).whereNull('payloads_erased_at').orderBy('retain_until').limit(limit).select('id', 'retention_reason');
  return rows.map((r) => ({ applicationId: r.id as string, reason: r.retention_reason as NoticeReason }));
}

/**
 * Erased applications whose parties are still to be asked to delete: not a loan's (its bank keeps
 * the loan) and not a withdrawn one's (its parties were asked at the withdrawal).
 */
export async function awaitingPartyDeletion(db: Conn, limit: number): Promise<RetentionDue[]> {
  const rows = await db('applications')
    .whereNotNull('payloads_erased_at')
    .whereNotIn('retention_reason', ['RETENTION_ELAPSED', 'CONSENT_WITHDRAWN'])
    .whereNull('party_deletion_started_at')
    .limit(limit)
    .select('id', 'retention_reason');
  return rows.map((r) => ({ applicationId: r.id as string, reason: r.retention_reason as NoticeReason }));
}

export async function markPartyDeletionStarted(db: Conn, applicationIds: string[], at: number): Promise<void> {
  if (applicationIds.length > 0) await db('applications').whereIn('id', applicationIds).whereNull('party_deletion_started_at').update({ party_deletion_started_at: at });
}

/** When the next retention falls due (epoch ms), if any application awaits one. */
export async function nextRetentionDue(db: Conn): Promise<number | undefined> {
  const next = await db('applications').whereNull('payloads_erased_at').whereNotNull('retain_until').min({ at: 'retain_until' }).first();
  return next?.at === null || next?.at === undefined ? undefined : toMs(next.at);
}
