/**
 * The who-saw-what ledger: an append-only sequence of leaves, each the canonical JSON of one
 * fact — a hop's signed header, a recipient's signed receipt, or a refusal. Leaves hold field
 * names, classes and salted digests, never values. Leaf hashes are RFC 9162 leaf hashes, so the
 * sequence is the Merkle log a regulator verifies.
 *
 * Every write is keyed (dedup_key) so a retried activity appends nothing twice.
 */
import { createHash, randomUUID } from 'node:crypto';
import { DzlError, type ErrorCode } from '../common/errors';
import { b64url, fromB64url } from '../seal/bytes';
import { canonicalJson } from '../seal/canonical';
import { decodeHop, type HopHeader, type SealedHop } from '../seal/hop';
import type { ReceiptBody, SignedReceipt } from '../seal/receipt';
import type { Conn, Db } from '../store/db';
import { insertLeaf, latestPartyLeaf, leafRowsOfApplication, refusalRows, type LeafRow } from '../store/evidenceLeaves';
import { isLeafOf, type ConsentLeaf, type ConsentStateLeaf, type DeletionLeaf, type HopLeaf, type Leaf, type NoticeLeaf, type PartyLeaf, type ReceiptLeaf, type RefusalLeaf } from '../evidence/leaves';
import { hashLeaf } from '../evidence/merkle';
import { redact } from '../common/redact';
import { refusalsRecorded, stageKind } from '../common/metrics';
import { lockRegistryForChange, partyIds } from '../store/parties';
import { refusalIds, valuesOf, vocabulary } from './redaction';
import type { Consent } from '../consent/consent';
import type { SignedNotice } from '../evidence/lifecycle';
import type { NoticeBody } from '../evidence/notice';

export type { LeafKind } from '../domain/leaves';
import type { LeafKind } from '../domain/leaves';

// The leaf formats are declared once, in evidence/leaves.ts: the verifier checks exactly what is written here.
export type { HopLeaf, Leaf, ReceiptLeaf, RefusalLeaf } from '../evidence/leaves';

export interface StoredLeaf {
  seq: number;
  kind: LeafKind;
  applicationId: string | null;
  hopId: string | null;
  data: Buffer;
  leaf: Leaf;
  leafHash: string;
}

async function append(
  db: Conn,
  dedupKey: string,
  kind: LeafKind,
  leaf: Leaf,
  refs: { applicationId?: string; hopId?: string; partyId?: string },
): Promise<boolean> {
  const data = canonicalJson(leaf);
  // the verifier's own check (evidence/leaves.ts): never write evidence it would reject
  if (!isLeafOf(kind, JSON.parse(data.toString('utf8')))) {
    throw new DzlError('INTERNAL', `the ledger refused to write a ${kind} leaf that is not of its format (${dedupKey})`);
  }
  return insertLeaf(db, {
    dedupKey,
    kind,
    ...(refs.applicationId ? { applicationId: refs.applicationId } : {}),
    ...(refs.hopId ? { hopId: refs.hopId } : {}),
    ...(refs.partyId ? { partyId: refs.partyId } : {}),
    data: data.toString('utf8'),
    leafHash: Buffer.from(hashLeaf(data)).toString('hex'),
  });
}

export async function recordHop(db: Conn, hop: { header: HopHeader; headerBytes: Uint8Array; signature: Uint8Array }): Promise<boolean> {
  const leaf: HopLeaf = {
    type: 'hop',
    recordedAt: new Date().toISOString(),
    header: b64url(hop.headerBytes),
    signature: b64url(hop.signature),
  };
  return append(db, `hop:${hop.header.hopId}`, 'hop', leaf, {
    applicationId: hop.header.applicationId,
    hopId: hop.header.hopId,
    partyId: hop.header.from,
  });
}

export async function recordReceipt(db: Conn, applicationId: string, receipt: { body: ReceiptBody; signed: SignedReceipt }): Promise<boolean> {
  const leaf: ReceiptLeaf = {
    type: 'receipt',
    recordedAt: new Date().toISOString(),
    hopId: receipt.body.hopId,
    receipt: receipt.signed.receipt,
    signature: receipt.signed.signature,
  };
  return append(db, `receipt:${receipt.body.hopId}:${receipt.body.by}`, 'receipt', leaf, {
    applicationId,
    hopId: receipt.body.hopId,
    partyId: receipt.body.by,
  });
}

export type Refusal = Omit<RefusalLeaf, 'type' | 'recordedAt'> & {
  /** A deterministic key when the same refusal may be recorded again on a retry. */
  dedupKey?: string;
  /** What the caller sent, when it sent anything: its values never reach the leaf (§19.2). */
  input?: unknown;
};

/**
 * Appends a refusal leaf, as §19.2 lets the ledger keep it: the message with every caller value a
 * token, ids only when the router holds them and the refusing party may see them.
 */
export async function recordRefusal(db: Conn, r: Refusal): Promise<void> {
  const { dedupKey, input, message, applicationId, hopId, to, ...rest } = r;
  const parties = new Set(await partyIds(db));
  const { ids, known } = await refusalIds(db, r.from, { ...(applicationId !== undefined ? { applicationId } : {}), ...(hopId !== undefined ? { hopId } : {}), ...(to !== undefined ? { to } : {}) }, parties);
  const said = redact(message, valuesOf(input, applicationId, hopId, to), vocabulary(parties, known));
  const leaf: RefusalLeaf = { type: 'refusal', recordedAt: new Date().toISOString(), ...rest, message: said, ...ids };
  const added = await append(db, dedupKey ?? `refusal:${randomUUID()}`, 'refusal', leaf, {
    ...(ids.applicationId && known.includes(ids.applicationId) ? { applicationId: ids.applicationId } : {}),
    ...(ids.hopId && known.includes(ids.hopId) ? { hopId: ids.hopId } : {}),
    partyId: r.from ?? r.refusedBy,
  });
  if (added) refusalsRecorded.inc({ code: r.code, stage: stageKind(r.stage) });
}

export async function recordConsent(db: Conn, consent: Consent): Promise<boolean> {
  const leaf: ConsentLeaf = { type: 'consent', recordedAt: new Date().toISOString(), consent };
  return append(db, `consent:${consent.id}`, 'consent', leaf, { partyId: consent.platformId });
}

/** A withdrawal or expiry, once per (consent, state, recipients). `applicationId` files it with a bank's own consent. */
/**
 * Runs a request on the router's behalf: a refusal (a DzlError) is recorded before it is thrown,
 * with what parses of the hop the request carried.
 */
export async function recordingRefusals<T>(db: Db, at: { stage: string; from: string; input?: unknown; hop?: unknown }, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof DzlError) await recordRefusal(db, { code: err.code, message: err.message, stage: at.stage, refusedBy: 'router', ...refusalRefs(at.hop ?? at.input), from: at.from, input: at.input });
    throw err;
  }
}

export async function recordConsentState(db: Conn, s: Omit<ConsentStateLeaf, 'type' | 'recordedAt'>, applicationId?: string): Promise<boolean> {
  const leaf: ConsentStateLeaf = { type: 'consent_state', recordedAt: new Date().toISOString(), ...s };
  // hashed: a key of fixed length, however many recipients (the dedup column holds 191 characters)
  const who = s.recipients ? createHash('sha256').update([...s.recipients].sort().join(',')).digest('hex').slice(0, 32) : '*';
  return append(db, `consent_state:${s.consentId}:${s.state}:${who}`, 'consent_state', leaf, { partyId: s.by, ...(applicationId ? { applicationId } : {}) });
}

/** The router's signed notice to a party; once per notice id. */
export async function recordNotice(db: Conn, body: NoticeBody, signed: SignedNotice): Promise<boolean> {
  const leaf: NoticeLeaf = { type: 'notice', recordedAt: new Date().toISOString(), notice: signed.notice, signature: signed.signature };
  return append(db, `notice:${body.noticeId}`, 'notice', leaf, { applicationId: body.applicationId, hopId: body.noticeId, partyId: body.to });
}

/** The router erased the sealed payloads of these hops; once per application. */
export async function recordDeletion(db: Conn, d: Omit<DeletionLeaf, 'type' | 'recordedAt'>): Promise<boolean> {
  const leaf: DeletionLeaf = { type: 'deletion', recordedAt: new Date().toISOString(), ...d };
  return append(db, `deletion:${d.applicationId}`, 'deletion', leaf, { applicationId: d.applicationId, partyId: 'router' });
}

/**
 * Appends a registry snapshot unless the party's latest snapshot says the same (a change back to
 * an earlier state is a new snapshot: registry changes are an administrative, single-writer act).
 */
export async function recordParty(db: Conn, party: PartyLeaf['party']): Promise<boolean> {
  // ordered against every hop taken into custody by any router (store/parties.ts)
  await lockRegistryForChange(db);
  const latest = await latestPartyLeaf(db, party.id);
  if (latest && canonicalJson((JSON.parse(latest.data) as PartyLeaf).party).equals(canonicalJson(party))) return false;
  const leaf: PartyLeaf = { type: 'party', recordedAt: new Date().toISOString(), party };
  return append(db, `party:${party.id}:${randomUUID()}`, 'party', leaf, { partyId: party.id });
}

/** What a refusal of untrusted input may safely say about the hop: only what parses. */
export function refusalRefs(input: unknown): Pick<Refusal, 'hopId' | 'headerDigest' | 'from' | 'to' | 'applicationId'> {
  try {
    const h = decodeHop(input);
    return { hopId: h.header.hopId, headerDigest: h.headerDigest, from: h.header.from, to: h.header.to, applicationId: h.header.applicationId };
  } catch {
    return {};
  }
}

function rowToLeaf(r: LeafRow): StoredLeaf {
  const data = Buffer.from(r.data, 'utf8');
  return { seq: r.seq, kind: r.kind, applicationId: r.applicationId, hopId: r.hopId, data, leaf: JSON.parse(r.data) as Leaf, leafHash: r.leafHash };
}

export async function leavesOfApplication(db: Conn, applicationId: string): Promise<StoredLeaf[]> {
  return (await leafRowsOfApplication(db, applicationId)).map(rowToLeaf);
}

export async function refusals(db: Conn, filter: { applicationId?: string; code?: ErrorCode } = {}): Promise<RefusalLeaf[]> {
  const leaves = (await refusalRows(db, filter.applicationId)).map(rowToLeaf).map((l) => l.leaf as RefusalLeaf);
  return filter.code ? leaves.filter((l) => l.code === filter.code) : leaves;
}

export interface HopView {
  header: HopHeader;
  receipts: ReceiptBody[];
}

/** The hops of an application with the receipts their recipients signed, in ledger order. */
export async function hopsOfApplication(db: Conn, applicationId: string): Promise<HopView[]> {
  const leaves = await leavesOfApplication(db, applicationId);
  const hops = new Map<string, HopView>();
  for (const l of leaves) {
    if (l.leaf.type === 'hop') {
      const header = JSON.parse(fromB64url(l.leaf.header)!.toString('utf8')) as HopHeader;
      hops.set(header.hopId, { header, receipts: [] });
    }
  }
  for (const l of leaves) {
    if (l.leaf.type === 'receipt') {
      const body = JSON.parse(fromB64url(l.leaf.receipt)!.toString('utf8')) as ReceiptBody;
      hops.get(body.hopId)?.receipts.push(body);
    }
  }
  return [...hops.values()];
}

export interface WhoSawWhat {
  parties: string[];
  fields: { field: string; class: string; seenBy: string[] }[];
}

/**
 * Party × field: a party saw a field when it sent it, or when it signed an accepted receipt for
 * a hop whose manifest lists it. The router appears as a party and never sees a field: it
 * carries sealed hops it cannot open.
 */
export function whoSawWhat(hops: HopView[], parties: string[]): WhoSawWhat {
  const seen = new Map<string, { class: string; by: Set<string> }>();
  for (const h of hops) {
    const accepted = h.receipts.filter((r) => r.status === 'accepted').map((r) => r.by);
    for (const m of h.header.manifest) {
      const e = seen.get(m.field) ?? { class: m.class, by: new Set<string>() };
      e.by.add(h.header.from);
      for (const by of accepted) e.by.add(by);
      seen.set(m.field, e);
    }
  }
  return {
    parties,
    fields: [...seen.entries()].map(([field, e]) => ({ field, class: e.class, seenBy: parties.filter((p) => e.by.has(p)) })),
  };
}

export type { SealedHop };

export interface DecisionProvenance {
  bank: string;
  outcome: string;
  reasonCode?: string;
  decidedAt: string;
  decisionHopId: string;
  /** The bank's decision model, as its decision hop names it. */
  bankModel?: { name: string; version: string };
  channel: string;
  creditReportHopId?: string;
  /** The channel's credit product the bank decided on, as the credit report names it. */
  channelProduct?: { name: string; version: string };
  /** Whether the bank signed a receipt for that credit report: it had the product in hand. */
  creditReportReceived: boolean;
}

/**
 * For each decision: which bank, with which model, on which channel product (PIPL Art. 24) — all
 * from signed headers, so the answer to a customer's request for an explanation is evidence too.
 */
export function decisionProvenance(hops: HopView[]): DecisionProvenance[] {
  const byId = new Map(hops.map((h) => [h.header.hopId, h]));
  return hops
    .filter((h) => h.header.kind === 'decision')
    .map((d) => {
      const report = d.header.parentHopId ? byId.get(d.header.parentHopId) : undefined;
      return {
        bank: d.header.from,
        outcome: d.header.outcome?.status ?? 'unknown',
        ...(d.header.outcome?.reasonCode ? { reasonCode: d.header.outcome.reasonCode } : {}),
        decidedAt: d.header.issuedAt,
        decisionHopId: d.header.hopId,
        ...(d.header.provenance ? { bankModel: d.header.provenance } : {}),
        channel: d.header.channel,
        ...(report ? { creditReportHopId: report.header.hopId } : {}),
        ...(report?.header.provenance ? { channelProduct: report.header.provenance } : {}),
        creditReportReceived: report?.receipts.some((r) => r.by === d.header.from && r.status === 'accepted') ?? false,
      };
    });
}
