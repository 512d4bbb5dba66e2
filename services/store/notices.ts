/** `notices`: the router's signed notices to parties, stored once and sent until acknowledged. */
import type { NoticeKind } from '../domain/notices';
import { insertIgnore, toMs, type Conn } from './db';

export interface NoticeRow {
  noticeId: string;
  applicationId: string;
  to: string;
  kind: NoticeKind;
  /** The signed notice {notice, signature} as JSON: every retry sends these same bytes. */
  signed: string;
  sentAt: number;
  acknowledgedAt?: number;
}

function fromRow(r: Record<string, unknown>): NoticeRow {
  return {
    noticeId: r.notice_id as string,
    applicationId: r.application_id as string,
    to: r.to_party as string,
    kind: r.kind as NoticeKind,
    signed: r.signed as string,
    sentAt: toMs(r.created_at),
    ...(r.acknowledged_at != null ? { acknowledgedAt: toMs(r.acknowledged_at) } : {}),
  };
}

export async function insertNotice(db: Conn, n: Omit<NoticeRow, 'sentAt' | 'acknowledgedAt'>): Promise<boolean> {
  return insertIgnore(db, 'notices', { notice_id: n.noticeId, application_id: n.applicationId, to_party: n.to, kind: n.kind, signed: n.signed, created_at: Date.now() }, 'notice_id');
}

export async function getNotice(db: Conn, noticeId: string): Promise<NoticeRow | undefined> {
  const r = await db('notices').where({ notice_id: noticeId }).first();
  return r ? fromRow(r) : undefined;
}

export async function acknowledgeNotice(db: Conn, noticeId: string, at: number): Promise<void> {
  await db('notices').where({ notice_id: noticeId }).whereNull('acknowledged_at').update({ acknowledged_at: at });
}

export async function noticesOf(db: Conn, applicationId: string): Promise<NoticeRow[]> {
  return (await db('notices').where({ application_id: applicationId }).orderBy('created_at')).map(fromRow);
}

/** How many notices of a kind are sent and acknowledged, and how many still wait. */
export async function noticeCounts(db: Conn, kind: NoticeKind): Promise<{ acknowledged: number; pending: number }> {
  const rows = await db('notices').where({ kind }).select('acknowledged_at');
  const acknowledged = rows.filter((r) => r.acknowledged_at != null).length;
  return { acknowledged, pending: rows.length - acknowledged };
}
