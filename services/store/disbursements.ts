/** `disbursements`: each loan a bank reported paid out, for the platform's daily reconciliation. */
import { insertIgnore, toMs, type Conn } from './db';

export interface DisbursementRow {
  hopId: string;
  applicationId: string;
  platformId: string;
  bankId: string;
  day: string;
  reportedAt: number;
}

export async function recordDisbursement(db: Conn, d: Omit<DisbursementRow, 'reportedAt'>): Promise<boolean> {
  return insertIgnore(db, 'disbursements', { hop_id: d.hopId, application_id: d.applicationId, platform_id: d.platformId, bank_id: d.bankId, day: d.day, created_at: Date.now() }, 'hop_id');
}

export async function disbursementsOfDay(db: Conn, platformId: string, day: string): Promise<DisbursementRow[]> {
  const rows = await db('disbursements').where({ platform_id: platformId, day }).orderBy('created_at');
  return rows.map((r) => ({ hopId: r.hop_id, applicationId: r.application_id, platformId: r.platform_id, bankId: r.bank_id, day: r.day, reportedAt: toMs(r.created_at) }));
}
