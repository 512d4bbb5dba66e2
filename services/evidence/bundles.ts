/**
 * Builds the evidence bundles a regulator pulls (format in ./bundle.ts): for one application,
 * for one party over a time range, and the complete log for the direct-connection audit.
 * Each is proven against a checkpoint published at build time, so every leaf it carries is in it.
 */
import { DzlError } from '../common/errors';
import { b64url, fromB64url } from '../seal/bytes';
import type { HopHeader } from '../seal/hop';
import type { ReceiptBody } from '../seal/receipt';
import { getApplication } from '../store/applications';
import { toMs, type Db } from '../store/db';
import { BUNDLE_FORMAT, type BundleLeaf, type BundleScope, type EvidenceBundle, type PartyLeaf } from './bundle';
import type { HopLeaf, Leaf, ReceiptLeaf } from './ledger';
import { checkpointAt, leafHashes, publishCheckpoint, type LogConfig, type StoredCheckpoint } from './log';
import { inclusionProof } from './merkle';

interface Row {
  index: number;
  data: string;
  leaf: Leaf;
  createdAt: number;
}

function toRow(r: Record<string, unknown>): Row {
  return { index: toMs(r.leaf_index), data: r.data as string, leaf: JSON.parse(r.data as string) as Leaf, createdAt: toMs(r.created_at) };
}

async function rowsWhere(db: Db, size: number, where: (q: ReturnType<Db>) => void): Promise<Row[]> {
  const q = db('evidence_leaves').whereNotNull('leaf_index').andWhere('leaf_index', '<', size);
  where(q);
  return (await q.orderBy('leaf_index').select('leaf_index', 'data', 'created_at')).map(toRow);
}

function headerOf(l: HopLeaf): HopHeader {
  return JSON.parse(fromB64url(l.header)!.toString('utf8')) as HopHeader;
}

function receiptOf(l: ReceiptLeaf): ReceiptBody {
  return JSON.parse(fromB64url(l.receipt)!.toString('utf8')) as ReceiptBody;
}

/** Consents the hops cite, and every registry snapshot of every party they involve. */
async function context(db: Db, size: number, rows: Row[]): Promise<Row[]> {
  const consents = new Set<string>();
  const parties = new Set<string>();
  for (const r of rows) {
    if (r.leaf.type !== 'hop') continue;
    const h = headerOf(r.leaf);
    consents.add(h.consentRef);
    for (const p of [h.from, h.to, h.platform, h.channel]) parties.add(p);
  }
  const extra = await rowsWhere(db, size, (q) =>
    q.andWhere((w) => {
      w.where((c) => c.where({ kind: 'party' }).whereIn('party_id', [...parties]));
      w.orWhere((c) => c.where({ kind: 'consent' }).whereIn('dedup_key', [...consents].map((id) => `consent:${id}`)));
    }),
  );
  return extra;
}

async function certificatesFor(db: Db, rows: Row[]): Promise<string[]> {
  const keyIds = new Set<string>();
  for (const r of rows) {
    if (r.leaf.type === 'party') for (const k of (r.leaf as PartyLeaf).party.certificates) keyIds.add(k);
    if (r.leaf.type === 'hop') keyIds.add(headerOf(r.leaf).senderKeyId);
    if (r.leaf.type === 'receipt') keyIds.add(receiptOf(r.leaf).keyId);
  }
  if (keyIds.size === 0) return [];
  return (await db('party_certificates').whereIn('key_id', [...keyIds]).orderBy('key_id').select('pem')).map((c) => c.pem as string);
}

async function assemble(db: Db, cp: StoredCheckpoint, scope: BundleScope, rows: Row[], complete: boolean): Promise<EvidenceBundle> {
  const unique = [...new Map(rows.map((r) => [r.index, r])).values()].sort((a, b) => a.index - b.index);
  const hashes = complete ? [] : await leafHashes(db, cp.treeSize);
  const leaves: BundleLeaf[] = unique.map((r) => ({
    index: r.index,
    data: b64url(Buffer.from(r.data, 'utf8')),
    ...(complete ? {} : { proof: inclusionProof(r.index, hashes).map((h) => b64url(h)) }),
  }));
  return {
    format: BUNDLE_FORMAT,
    scope,
    generatedAt: new Date().toISOString(),
    checkpoint: cp.note,
    complete,
    leaves,
    certificates: await certificatesFor(db, unique),
  };
}

export interface BundleOptions {
  /** Prove against the latest checkpoint a witness cosigned, rather than a fresh one. */
  witnessed?: boolean;
}

async function chooseCheckpoint(db: Db, log: LogConfig, opts: BundleOptions): Promise<StoredCheckpoint> {
  const fresh = await publishCheckpoint(db, log);
  if (!opts.witnessed) return fresh;
  const row = await db('log_cosignatures').max({ size: 'tree_size' }).first();
  const size = row?.size == null ? undefined : toMs(row.size);
  const cp = size === undefined ? undefined : await checkpointAt(db, size);
  if (!cp) throw new DzlError('EVIDENCE_NOT_YET_WITNESSED', 'no checkpoint has been cosigned by a witness yet; ask again after the next cosignature');
  return cp;
}

function requireCovered(cp: StoredCheckpoint, rows: Row[], what: string): void {
  if (rows.length === 0) throw new DzlError('EVIDENCE_NOT_YET_WITNESSED', `the witnessed checkpoint (size ${cp.treeSize}) does not yet cover ${what}; ask again after the next cosignature`);
}

export async function applicationBundle(db: Db, log: LogConfig, applicationId: string, opts: BundleOptions = {}): Promise<EvidenceBundle> {
  const app = await getApplication(db, applicationId);
  if (!app) throw new DzlError('APPLICATION_NOT_FOUND', `no application ${applicationId}`);
  const cp = await chooseCheckpoint(db, log, opts);
  const own = await rowsWhere(db, cp.treeSize, (q) => q.andWhere({ application_id: applicationId }));
  if (opts.witnessed) {
    const all = await db('evidence_leaves').where({ application_id: applicationId }).count({ n: '*' }).first();
    if (own.length < Number(all?.n ?? 0)) requireCovered(cp, [], `all of application ${applicationId}`);
  }
  return assemble(db, cp, { kind: 'application', applicationId }, [...own, ...(await context(db, cp.treeSize, own))], false);
}

/** Every hop a party sent or received, with receipts and refusals, recorded in [from, to). */
export async function partyBundle(db: Db, log: LogConfig, partyId: string, from: Date, to: Date, opts: BundleOptions = {}): Promise<EvidenceBundle> {
  const cp = await chooseCheckpoint(db, log, opts);
  const inRange = await rowsWhere(db, cp.treeSize, (q) => q.andWhere('created_at', '>=', from.getTime()).andWhere('created_at', '<', to.getTime()).whereIn('kind', ['hop', 'refusal']));
  const hops = inRange.filter((r) => r.leaf.type === 'hop' && [headerOf(r.leaf).from, headerOf(r.leaf).to].includes(partyId));
  const refusals = inRange.filter((r) => r.leaf.type === 'refusal' && [r.leaf.from, r.leaf.to, r.leaf.refusedBy].includes(partyId));
  const hopIds = hops.map((r) => headerOf(r.leaf as HopLeaf).hopId);
  const receipts = hopIds.length ? await rowsWhere(db, cp.treeSize, (q) => q.andWhere({ kind: 'receipt' }).whereIn('hop_id', hopIds)) : [];
  const own = [...hops, ...refusals, ...receipts];
  return assemble(db, cp, { kind: 'party', partyId, from: from.toISOString(), to: to.toISOString() }, [...own, ...(await context(db, cp.treeSize, own))], false);
}

/**
 * The whole log: a complete bundle lets the verifier recompute the root and so prove an absence —
 * that no hop anywhere in the log carried personal data from a platform to a bank — and list
 * every refusal.
 */
export async function directConnectionAudit(db: Db, log: LogConfig, opts: BundleOptions = {}): Promise<EvidenceBundle> {
  const cp = await chooseCheckpoint(db, log, opts);
  const all = await rowsWhere(db, cp.treeSize, () => undefined);
  const bundle = await assemble(db, cp, { kind: 'direct-connection-audit' }, all, true);
  bundle.certificates = (await db('party_certificates').orderBy('key_id').select('pem')).map((c) => c.pem as string);
  return bundle;
}
