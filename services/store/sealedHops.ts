/**
 * `sealed_hops`: the router's custody. Each hop exactly as its sender sealed it — the router holds
 * no key that opens one — until retention erases the payload and keeps the signed header.
 */
import type { HopKind } from '../domain/hops';
import type { SealedHop } from '../seal/hop';
import { insertIgnore, toMs, type Conn } from './db';

export interface StoredHop {
  hopId: string;
  applicationId: string;
  kind: HopKind;
  from: string;
  to: string;
  /** The hop this one answers (a credit report's application, a decision's credit report). */
  parentHopId?: string;
  sealed: SealedHop;
  /** Set once retention erased the payload: `sealed` then holds the signed header only. */
  erasedAt?: number;
}

function fromRow(r: Record<string, unknown>): StoredHop {
  return {
    hopId: r.hop_id as string,
    applicationId: r.application_id as string,
    kind: r.kind as HopKind,
    from: r.from_party as string,
    to: r.to_party as string,
    ...(r.parent_hop_id ? { parentHopId: r.parent_hop_id as string } : {}),
    sealed: JSON.parse(r.envelope as string) as SealedHop,
    ...(r.payload_erased_at ? { erasedAt: toMs(r.payload_erased_at) } : {}),
  };
}

export async function saveSealedHop(db: Conn, h: Omit<StoredHop, 'erasedAt'>): Promise<boolean> {
  return insertIgnore(
    db,
    'sealed_hops',
    { hop_id: h.hopId, application_id: h.applicationId, kind: h.kind, from_party: h.from, to_party: h.to, parent_hop_id: h.parentHopId ?? null, envelope: JSON.stringify(h.sealed), created_at: Date.now() },
    'hop_id',
  );
}

export async function getSealedHop(db: Conn, hopId: string): Promise<StoredHop | undefined> {
  const r = await db('sealed_hops').where({ hop_id: hopId }).first();
  return r ? fromRow(r) : undefined;
}

/** The credit report the application's channel sealed for this bank, if there is one. */
export async function creditReportFor(db: Conn, applicationId: string, bankId: string): Promise<StoredHop | undefined> {
  const r = await db('sealed_hops').where({ application_id: applicationId, kind: 'credit_report', to_party: bankId }).first();
  return r ? fromRow(r) : undefined;
}

/** The ids of the application's hops addressed to a party, in the order they were taken into custody. */
export async function hopIdsTo(db: Conn, applicationId: string, to: string): Promise<string[]> {
  return (await db('sealed_hops').where({ application_id: applicationId, to_party: to }).orderBy('created_at').select('hop_id')).map((r) => r.hop_id as string);
}

/** The parties that hops of the application (of these kinds) were addressed to. */
export async function recipientsOf(db: Conn, applicationId: string, kinds?: readonly HopKind[]): Promise<string[]> {
  const q = db('sealed_hops').where({ application_id: applicationId });
  if (kinds) q.whereIn('kind', kinds);
  const rows = await q.distinct('to_party').orderBy('to_party');
  return rows.map((r) => r.to_party as string);
}

/**
 * Erases the sealed payloads (wrapped key, iv, ciphertext) of an application's hops, keeping
 * each signed header: what the evidence needs. Returns the ids of every erased hop.
 */
export async function erasePayloads(db: Conn, applicationId: string, at: number): Promise<string[]> {
  const rows = await db('sealed_hops').where({ application_id: applicationId }).orderBy('created_at').select('hop_id', 'envelope', 'payload_erased_at');
  for (const r of rows) {
    if (r.payload_erased_at) continue;
    const { header, signature } = JSON.parse(r.envelope) as SealedHop;
    await db('sealed_hops').where({ hop_id: r.hop_id }).update({ envelope: JSON.stringify({ header, signature }), payload_erased_at: at });
  }
  return rows.map((r) => r.hop_id as string);
}

/** The ids of the application's hops of one kind, in custody order. */
export async function hopsOfKind(db: Conn, applicationId: string, kind: HopKind): Promise<string[]> {
  return (await db('sealed_hops').where({ application_id: applicationId, kind }).orderBy('created_at').select('hop_id')).map((r) => r.hop_id as string);
}

/** The answer of this kind to a parent hop, addressed to this recipient, if one is in custody: there is at most one. */
export async function answerTo(db: Conn, kind: HopKind, parentHopId: string, to: string): Promise<StoredHop | undefined> {
  const r = await db('sealed_hops').where({ parent_hop_id: parentHopId, kind, to_party: to }).first();
  return r ? fromRow(r) : undefined;
}
