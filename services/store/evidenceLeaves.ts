/**
 * `evidence_leaves`: the ledger's rows, one per fact. The ledger (services/ledger) decides what a
 * leaf says; this module only stores and finds rows. `seq` is the insertion order (it has gaps on
 * MySQL); `leaf_index` is the dense position the sequencer gives a leaf in the Merkle log.
 */
import type { LeafKind } from '../domain/leaves';
import { insertIgnore, isMysql, toMs, type Conn, type Db } from './db';

export interface LeafRow {
  seq: number;
  kind: LeafKind;
  applicationId: string | null;
  hopId: string | null;
  partyId: string | null;
  /** Canonical JSON of the leaf. */
  data: string;
  /** Hex RFC 9162 leaf hash of `data`. */
  leafHash: string;
  /** Null until sequenced. */
  leafIndex: number | null;
  createdAt: number;
}

export interface NewLeafRow {
  dedupKey: string;
  kind: LeafKind;
  applicationId?: string;
  hopId?: string;
  partyId?: string;
  data: string;
  leafHash: string;
}

function toRow(r: Record<string, unknown>): LeafRow {
  return {
    seq: toMs(r.seq),
    kind: r.kind as LeafKind,
    applicationId: (r.application_id as string | null) ?? null,
    hopId: (r.hop_id as string | null) ?? null,
    partyId: (r.party_id as string | null) ?? null,
    data: r.data as string,
    leafHash: r.leaf_hash as string,
    leafIndex: r.leaf_index == null ? null : toMs(r.leaf_index),
    createdAt: toMs(r.created_at),
  };
}

function columns(l: NewLeafRow, now: number): Record<string, unknown> {
  return {
    dedup_key: l.dedupKey,
    kind: l.kind,
    application_id: l.applicationId ?? null,
    hop_id: l.hopId ?? null,
    party_id: l.partyId ?? null,
    data: l.data,
    leaf_hash: l.leafHash,
    created_at: now,
  };
}

/** Appends a leaf unless one with its dedup key exists; true when written. */
export async function insertLeaf(db: Conn, l: NewLeafRow): Promise<boolean> {
  return insertIgnore(db, 'evidence_leaves', columns(l, Date.now()), 'dedup_key');
}

/** Appends many leaves in one statement per chunk (bulk loads: the log bench, imports). Dedup keys must be new. */
export async function insertLeaves(db: Conn, leaves: readonly NewLeafRow[], chunk = 500): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < leaves.length; i += chunk) await db('evidence_leaves').insert(leaves.slice(i, i + chunk).map((l) => columns(l, now)));
}

/** The sequence number of the latest registry change (a `party` leaf): the published directory's version. */
export async function registryVersion(db: Conn): Promise<number> {
  const r = (await db('evidence_leaves').where({ kind: 'party' }).max({ seq: 'seq' }).first()) as { seq?: number | string | null } | undefined;
  return r?.seq == null ? 0 : Number(r.seq);
}

export async function latestPartyLeaf(db: Conn, partyId: string): Promise<LeafRow | undefined> {
  const r = await db('evidence_leaves').where({ kind: 'party', party_id: partyId }).orderBy('seq', 'desc').first();
  return r ? toRow(r) : undefined;
}

export async function leafRowsOfApplication(db: Conn, applicationId: string): Promise<LeafRow[]> {
  return (await db('evidence_leaves').where({ application_id: applicationId }).orderBy('seq')).map(toRow);
}

export async function countLeavesOfApplication(db: Conn, applicationId: string): Promise<number> {
  const r = await db('evidence_leaves').where({ application_id: applicationId }).count({ n: '*' }).first();
  return Number(r?.n ?? 0);
}

export async function refusalRows(db: Conn, applicationId?: string): Promise<LeafRow[]> {
  const q = db('evidence_leaves').where({ kind: 'refusal' }).orderBy('seq');
  if (applicationId) q.andWhere({ application_id: applicationId });
  return (await q).map(toRow);
}

// ---------------------------------------------------------------------------------------------
// Sequencing

/** The next unsequenced leaves in insertion order: seq and leaf hash. */
export async function pendingLeaves(db: Conn, limit: number): Promise<{ seq: number; leafHash: string }[]> {
  const rows = await db('evidence_leaves').whereNull('leaf_index').orderBy('seq').limit(limit).select('seq', 'leaf_hash');
  return rows.map((r) => ({ seq: toMs(r.seq), leafHash: r.leaf_hash as string }));
}

/** Gives the leaves `seqs` the indices first, first+1, … in that order: one statement per 500. */
export async function assignLeafIndices(db: Conn, seqs: readonly number[], first: number): Promise<void> {
  let next = first;
  for (let i = 0; i < seqs.length; i += 500) {
    const chunk = seqs.slice(i, i + 500);
    const cases = chunk.map(() => 'WHEN ? THEN ?').join(' ');
    const bindings = chunk.flatMap((seq) => [seq, next++]);
    await db.raw(`UPDATE evidence_leaves SET leaf_index = CASE seq ${cases} END WHERE seq IN (${chunk.map(() => '?').join(',')})`, [...bindings, ...chunk]);
  }
}

/** Leaf hashes of indices [from, to), in index order (rebuilding tiles; tests). */
export async function leafHashesBetween(db: Conn, from: number, to: number): Promise<Buffer[]> {
  const rows = await db('evidence_leaves').where('leaf_index', '>=', from).andWhere('leaf_index', '<', to).orderBy('leaf_index').select('leaf_hash');
  if (rows.length !== to - from) throw new Error(`log has ${rows.length} sequenced leaves in [${from}, ${to})`);
  return rows.map((r) => Buffer.from(r.leaf_hash as string, 'hex'));
}

// ---------------------------------------------------------------------------------------------
// What bundles are built from: sequenced leaves below a tree size

export interface SequencedLeaf {
  index: number;
  data: string;
  createdAt: number;
}

export type LeafFilter =
  | { applicationId: string }
  | { applicationIds: string[]; kind: LeafKind }
  | { kinds: LeafKind[]; createdFrom: number; createdTo: number }
  | { kind: LeafKind; hopIds: string[] }
  | { kind: LeafKind; partyIds: string[] }
  | { kind: LeafKind; dedupKeys: string[] }
  | { kind: LeafKind; dedupKeyPrefixes: string[] }
  | { all: true };

/** The smallest string after every string that starts with `prefix` (its last character + 1). */
function nextPrefix(prefix: string): string {
  const last = prefix.codePointAt(prefix.length - 1)!;
  return prefix.slice(0, -1) + String.fromCodePoint(last + 1);
}

/** Sequenced leaves below `size` matching `filter`, in index order. */
export async function sequencedLeaves(db: Conn, size: number, filter: LeafFilter): Promise<SequencedLeaf[]> {
  const q = db('evidence_leaves').whereNotNull('leaf_index').andWhere('leaf_index', '<', size);
  if ('applicationId' in filter) q.andWhere({ application_id: filter.applicationId });
  else if ('applicationIds' in filter) q.andWhere({ kind: filter.kind }).whereIn('application_id', filter.applicationIds);
  else if ('kinds' in filter) q.andWhere('created_at', '>=', filter.createdFrom).andWhere('created_at', '<', filter.createdTo).whereIn('kind', filter.kinds);
  else if ('hopIds' in filter) q.andWhere({ kind: filter.kind }).whereIn('hop_id', filter.hopIds);
  else if ('partyIds' in filter) q.andWhere({ kind: filter.kind }).whereIn('party_id', filter.partyIds);
  else if ('dedupKeys' in filter) q.andWhere({ kind: filter.kind }).whereIn('dedup_key', filter.dedupKeys);
  else if ('dedupKeyPrefixes' in filter) {
    const prefixes = filter.dedupKeyPrefixes;
    const sqlite = !isMysql(db as Db);
    q.andWhere({ kind: filter.kind }).andWhere((w) => {
      // SQLite's LIKE ignores case and so never uses the index: a range over the binary order
      // does (the prefix up to the next code point after its last character). MySQL's LIKE
      // 'prefix%' is an index range already.
      for (const p of prefixes) {
        if (sqlite) w.orWhere((c) => c.where('dedup_key', '>=', p).andWhere('dedup_key', '<', nextPrefix(p)));
        else w.orWhere('dedup_key', 'like', `${p}%`);
      }
    });
  }
  const rows = await q.orderBy('leaf_index').select('leaf_index', 'data', 'created_at');
  return rows.map((r) => ({ index: toMs(r.leaf_index), data: r.data as string, createdAt: toMs(r.created_at) }));
}
