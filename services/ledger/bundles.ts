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
import type { Db } from '../store/db';
import { countLeavesOfApplication, sequencedLeaves, type LeafFilter } from '../store/evidenceLeaves';
import { latestCosignedSize } from '../store/evidenceLog';
import { allCertificatePems, certificatePems } from '../store/parties';
import { BUNDLE_FORMAT, type BundleLeaf, type BundleScope, type EvidenceBundle, type PartyLeaf } from '../evidence/bundle';
import type { HopLeaf, Leaf, ReceiptLeaf } from './ledger';
import type { NoticeBody, NoticeLeaf } from '../evidence/lifecycle';
import { checkpointAt, proveInclusions, publishCheckpoint, type LogConfig, type StoredCheckpoint } from './log';

interface Row {
  index: number;
  data: string;
  leaf: Leaf;
  createdAt: number;
}

async function rowsWhere(db: Db, size: number, filter: LeafFilter): Promise<Row[]> {
  return (await sequencedLeaves(db, size, filter)).map((r) => ({ ...r, leaf: JSON.parse(r.data) as Leaf }));
}

function headerOf(l: HopLeaf): HopHeader {
  return JSON.parse(fromB64url(l.header)!.toString('utf8')) as HopHeader;
}

function receiptOf(l: ReceiptLeaf): ReceiptBody {
  return JSON.parse(fromB64url(l.receipt)!.toString('utf8')) as ReceiptBody;
}

function noticeOf(l: NoticeLeaf): NoticeBody {
  return JSON.parse(fromB64url(l.notice)!.toString('utf8')) as NoticeBody;
}

const STATE_QUERY_IDS = 100;

/**
 * Every change of state of these consents. They are filed under the party that recorded them,
 * not an application, so they are found by dedup key prefix `consent_state:<consent id>:`. LIKE
 * treats `_` as a wildcard (and ids may hold `:`), so a prefix can match another consent's key:
 * only exact ids are kept. Chunked so that no statement grows with a party bundle's consents.
 */
async function consentStateRows(db: Db, size: number, ids: string[]): Promise<Row[]> {
  const wanted = new Set(ids);
  const out: Row[] = [];
  for (let i = 0; i < ids.length; i += STATE_QUERY_IDS) {
    const chunk = ids.slice(i, i + STATE_QUERY_IDS);
    const rows = await rowsWhere(db, size, { kind: 'consent_state', dedupKeyPrefixes: chunk.map((id) => `consent_state:${id}:`) });
    out.push(...rows.filter((r) => r.leaf.type === 'consent_state' && wanted.has(r.leaf.consentId)));
  }
  return out;
}

/**
 * What the leaves refer to: the consents the hops cite (and the notices and consent changes
 * name), the banks' own consents for the hops' applications, every change of state of those
 * consents, and every registry snapshot of every party the hops involve, of the router that
 * signed the notices and of whoever recorded a change. `consentIds` adds consents the caller
 * knows of (an application's own).
 */
async function context(db: Db, size: number, rows: Row[], consentIds: string[] = []): Promise<Row[]> {
  const consents = new Set<string>(consentIds);
  const parties = new Set<string>();
  const applications = new Set<string>();
  for (const r of rows) {
    if (r.leaf.type === 'hop') {
      const h = headerOf(r.leaf);
      consents.add(h.consentRef);
      applications.add(h.applicationId);
      for (const p of [h.from, h.to, h.platform, h.channel]) parties.add(p);
    } else if (r.leaf.type === 'notice') {
      const n = noticeOf(r.leaf);
      consents.add(n.consentId);
      parties.add(n.by);
      parties.add(n.to);
    } else if (r.leaf.type === 'consent_state') {
      consents.add(r.leaf.consentId);
    }
  }
  // A bank's own consent (redirect model) is filed with its application: its changes end the
  // application's consent for its recipients, so a hop's checks need them.
  const own = applications.size ? await rowsWhere(db, size, { kind: 'consent_state', applicationIds: [...applications] }) : [];
  for (const r of own) if (r.leaf.type === 'consent_state') consents.add(r.leaf.consentId);
  const ids = [...consents];
  const states = await consentStateRows(db, size, ids);
  for (const r of [...rows, ...states]) if (r.leaf.type === 'consent_state') parties.add(r.leaf.by);
  const snapshots = await rowsWhere(db, size, { kind: 'party', partyIds: [...parties] });
  const declared = await rowsWhere(db, size, { kind: 'consent', dedupKeys: ids.map((id) => `consent:${id}`) });
  return [...snapshots, ...declared, ...states];
}

async function certificatesFor(db: Db, rows: Row[]): Promise<string[]> {
  const keyIds = new Set<string>();
  for (const r of rows) {
    if (r.leaf.type === 'party') for (const k of (r.leaf as PartyLeaf).party.certificates) keyIds.add(k);
    if (r.leaf.type === 'hop') keyIds.add(headerOf(r.leaf).senderKeyId);
    if (r.leaf.type === 'receipt') keyIds.add(receiptOf(r.leaf).keyId);
    if (r.leaf.type === 'notice') keyIds.add(noticeOf(r.leaf).keyId);
  }
  if (keyIds.size === 0) return [];
  return certificatePems(db, [...keyIds]);
}

async function assemble(db: Db, cp: StoredCheckpoint, scope: BundleScope, rows: Row[], complete: boolean): Promise<EvidenceBundle> {
  const unique = [...new Map(rows.map((r) => [r.index, r])).values()].sort((a, b) => a.index - b.index);
  // all k proofs from one read of the O(k log n) tiles they touch
  const proofs = complete ? new Map<number, Buffer[]>() : await proveInclusions(db, unique.map((r) => r.index), cp.treeSize);
  const leaves: BundleLeaf[] = unique.map((r) => ({
    index: r.index,
    data: b64url(Buffer.from(r.data, 'utf8')),
    ...(complete ? {} : { proof: proofs.get(r.index)!.map((h) => b64url(h)) }),
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
  const size = await latestCosignedSize(db);
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
  const own = await rowsWhere(db, cp.treeSize, { applicationId });
  if (opts.witnessed && own.length < (await countLeavesOfApplication(db, applicationId))) requireCovered(cp, [], `all of application ${applicationId}`);
  // `own` holds the application's hops, receipts, refusals, notices and their acknowledgements,
  // its deletion, and the state changes of a bank's own consent (filed with the application).
  return assemble(db, cp, { kind: 'application', applicationId }, [...own, ...(await context(db, cp.treeSize, own, [app.consentId]))], false);
}

/** Every hop a party sent or received and every notice sent to it, with receipts and refusals, recorded in [from, to). */
export async function partyBundle(db: Db, log: LogConfig, partyId: string, from: Date, to: Date, opts: BundleOptions = {}): Promise<EvidenceBundle> {
  const cp = await chooseCheckpoint(db, log, opts);
  const inRange = await rowsWhere(db, cp.treeSize, { kinds: ['hop', 'refusal', 'notice'], createdFrom: from.getTime(), createdTo: to.getTime() });
  const hops = inRange.filter((r) => r.leaf.type === 'hop' && [headerOf(r.leaf).from, headerOf(r.leaf).to].includes(partyId));
  const refusals = inRange.filter((r) => r.leaf.type === 'refusal' && [r.leaf.from, r.leaf.to, r.leaf.refusedBy].includes(partyId));
  const notices = inRange.filter((r) => r.leaf.type === 'notice' && noticeOf(r.leaf).to === partyId);
  // A notice's acknowledgement is a receipt filed under the notice id.
  const answered = [...hops.map((r) => headerOf(r.leaf as HopLeaf).hopId), ...notices.map((r) => noticeOf(r.leaf as NoticeLeaf).noticeId)];
  const receipts = answered.length ? await rowsWhere(db, cp.treeSize, { kind: 'receipt', hopIds: answered }) : [];
  const own = [...hops, ...refusals, ...notices, ...receipts];
  return assemble(db, cp, { kind: 'party', partyId, from: from.toISOString(), to: to.toISOString() }, [...own, ...(await context(db, cp.treeSize, own))], false);
}

/**
 * The whole log: a complete bundle lets the verifier recompute the root and so prove an absence —
 * that no hop anywhere in the log carried personal data from a platform to a bank — and list
 * every refusal.
 */
export async function directConnectionAudit(db: Db, log: LogConfig, opts: BundleOptions = {}): Promise<EvidenceBundle> {
  const cp = await chooseCheckpoint(db, log, opts);
  const all = await rowsWhere(db, cp.treeSize, { all: true });
  const bundle = await assemble(db, cp, { kind: 'direct-connection-audit' }, all, true);
  bundle.certificates = await allCertificatePems(db);
  return bundle;
}
