/**
 * The offline verifier of an evidence bundle (dzl-evidence-bundle/v1, services/evidence/bundle.ts):
 * what a regulator runs with nothing but the bundle and its trust roots — the network CA, the
 * router's note key, and the witnesses' keys it chooses to require.
 *
 * Checks, in report order: (a) structure, (b) the checkpoint's signatures, (c) every leaf is in
 * the checkpoint's tree and is a known leaf type, (d) certificates chain to the CA, (e) party
 * leaves name certificates the bundle carries, (f) hop signatures against the registry as it
 * stood when the hop was recorded, (g) receipts, (h) the 断直连 routing rules under each consent
 * as it stood (not withdrawn, not expired), (i) for a complete bundle, that no platform → bank
 * hop exists anywhere in the log, then the personal-data lifecycle (contracts/envelope.md §20.8
 * L–O): consent state changes, the router's signed notices, the parties' acknowledgements of
 * them, and the erasure of sealed payloads.
 *
 * verifyBundle never throws: every problem is a failed check whose reason names what failed.
 */
import { X509Certificate } from 'node:crypto';
import { DzlError } from '../common/errors';
import type { Consent } from '../consent/consent';
import { PARTY_ROLES, type PartyRole } from '../pki/ca';
import { parseCertificate, type CertificateInfo } from '../pki/certificate';
import { NetworkDirectory, type ChannelLicence, type PartyRecord } from '../registry/directory';
import { checkRoute, isBareRedirect } from '../routing/rules';
import { b64url, fromB64url, sha256 } from '../seal/bytes';
import { canonicalJson, parseCanonical } from '../seal/canonical';
import { certificateValidAt, decodeHeader, headerDigestOf, verifySender, type HopHeader } from '../seal/hop';
import { verifyReceipt, type ReceiptBody } from '../seal/receipt';
import { BUNDLE_FORMAT, type BundleScope, type ConsentLeaf, type PartyLeaf } from './bundle';
import type { HopLeaf, Leaf, ReceiptLeaf, RefusalLeaf } from './leaves';
import { NOTICE_REASONS, noticeDigest, verifyNotice, type ConsentStateLeaf, type DeletionLeaf, type NoticeBody, type NoticeLeaf, type NoticeReason } from './lifecycle';
import { HASH_SIZE, MerkleError, ProofLengthError, RootMismatchError, hashLeaf, merkleRoot, verifyInclusion } from './merkle';
import { NoteError, openNote, parseCheckpoint, parseVkey, type Checkpoint, type NoteVerifier } from './note';

export interface VerifyCheck {
  check: string;
  ok: boolean;
  reason?: string;
  leafIndex?: number;
}

/** A credit_report's credit product or a decision's model, as its sender's signed header names it. */
export interface HopProvenance {
  hopId: string;
  applicationId: string;
  kind: HopHeader['kind'];
  from: string;
  name: string;
  version: string;
}

export interface VerifySummary {
  leaves: number;
  hops: number;
  /** Receipt leaves for hops (and any naming neither a hop nor a notice); acknowledgements are counted apart. */
  receipts: number;
  refusals: number;
  parties: number;
  consents: number;
  /** consent_state leaves by state. */
  withdrawals: number;
  expiries: number;
  notices: number;
  /** Receipt leaves whose hopId is a notice of the bundle: a party's answer to a notice, never a sight of fields. */
  acknowledgements: number;
  deletions: number;
  /** Hops whose header names a provenance, in leaf order. */
  provenance: HopProvenance[];
  witnessedBy: string[];
}

export interface VerifyReport {
  ok: boolean;
  scope?: BundleScope;
  treeSize?: number;
  checks: VerifyCheck[];
  /** The reasons of the failed checks, in check order. */
  failures: string[];
  summary: VerifySummary;
}

/**
 * Certificate parses and registry snapshots are pure functions of their inputs and cost
 * milliseconds each (node-forge checks the CA signature in JavaScript). A caller verifying many
 * bundles against the same CA can pass one cache to all of them; keys are the exact inputs.
 */
export interface VerifierCache {
  certificates: Map<string, CertificateInfo | string>;
  directories: Map<string, NetworkDirectory | string>;
}

export function createVerifierCache(): VerifierCache {
  return { certificates: new Map(), directories: new Map() };
}

export interface VerifyInput {
  bundle: unknown;
  caPem: string;
  routerVkey: string;
  /** Witness vkeys that must have cosigned the checkpoint. */
  requireWitnesses?: string[];
  onProgress?: (done: number, total: number) => void;
  cache?: VerifierCache;
}

// ---------------------------------------------------------------------------------------------
// Report assembly

class Checks {
  readonly list: VerifyCheck[] = [];

  pass(check: string, reason?: string, leafIndex?: number): void {
    this.list.push({ check, ok: true, ...(reason !== undefined ? { reason } : {}), ...(leafIndex !== undefined ? { leafIndex } : {}) });
  }

  fail(check: string, reason: string, leafIndex?: number): void {
    this.list.push({ check, ok: false, reason, ...(leafIndex !== undefined ? { leafIndex } : {}) });
  }

  failuresSince(mark: number): number {
    return this.list.slice(mark).filter((c) => !c.ok).length;
  }

  /** Runs one stage; an unexpected exception (a verifier bug, never bad input) fails closed. */
  guard<T>(stage: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.fail(stage, `${stage}: verifier error: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }
}

class Progress {
  private done = 0;
  private lastReported = 0;
  constructor(
    private readonly total: number,
    private readonly onProgress?: (done: number, total: number) => void,
  ) {}

  advance(units = 1): void {
    this.done = Math.min(this.total, this.done + units);
    if (this.done - this.lastReported >= 50) this.report();
  }

  /** Marks the end of a pass that may have skipped some of its units. */
  reach(units: number): void {
    if (units > this.done) this.advance(units - this.done);
  }

  finish(): void {
    this.done = this.total;
    this.report();
  }

  private report(): void {
    this.lastReported = this.done;
    try {
      this.onProgress?.(this.done, this.total);
    } catch {
      // A progress display that fails must not change the verdict.
    }
  }
}

function explain(err: unknown): string {
  if (err instanceof DzlError) return `${err.code} — ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------------
// Shapes

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Json, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isString = (v: unknown): v is string => typeof v === 'string';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const isTimestamp = (v: unknown): v is string => isString(v) && TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v));
const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const isId = (v: unknown): v is string => isString(v) && ID.test(v);
const isIdList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isId);
/** base64url SHA-256 as the router accepts it from a party (the form only: 43 characters of the alphabet). */
const isDigest = (v: unknown): v is string => isString(v) && /^[A-Za-z0-9_-]{43}$/.test(v);
const isNoticeReason = (v: unknown): v is NoticeReason => NOTICE_REASONS.includes(v as NoticeReason);

/** Undefined when `o` has every required member, only declared optional ones, and each member passes. */
function membersProblem(o: Json, spec: Record<string, { optional?: boolean; test: (v: unknown) => boolean }>): string | undefined {
  for (const [k, s] of Object.entries(spec)) {
    if (!has(o, k)) {
      if (!s.optional) return `lacks member ${k}`;
    } else if (!s.test(o[k])) {
      return `member ${k} has the wrong type or form`;
    }
  }
  const extra = Object.keys(o).filter((k) => !has(spec, k));
  return extra.length > 0 ? `has members v1 does not define: ${extra.join(', ')}` : undefined;
}

const req = (test: (v: unknown) => boolean) => ({ test });
const opt = (test: (v: unknown) => boolean) => ({ optional: true, test });

function isLicence(v: unknown): boolean {
  return (
    isObject(v) &&
    membersProblem(v, {
      number: req(isString),
      issuer: req(isString),
      validFrom: req((x) => isString(x) && !Number.isNaN(Date.parse(x))),
      validUntil: req((x) => isString(x) && !Number.isNaN(Date.parse(x))),
      status: req((x) => x === 'active' || x === 'revoked'),
    }) === undefined
  );
}

const PARTY_SPEC = {
  id: req(isId),
  role: req((v) => PARTY_ROLES.includes(v as PartyRole)),
  legalName: req(isString),
  licence: opt(isLicence),
  certificates: req(isStringArray),
  revoked: opt((v) => isObject(v) && Object.values(v).every(isTimestamp)),
};

const CONSENT_SPEC = {
  id: req(isId),
  platformId: req(isId),
  textVersion: req(isString),
  textSha256: req(isString),
  purposes: req(isStringArray),
  recipients: req(isStringArray),
  grantedAt: req(isTimestamp),
  expiresAt: req(isTimestamp),
  createdBy: opt(isId),
  applicationId: opt(isId),
  actedAt: opt(isTimestamp),
  deviceDigest: opt(isDigest),
};

/** The signed notice's bytes (lifecycle.ts NoticeBody); checked where the notice is, not as leaf data. */
const NOTICE_SPEC = {
  v: req((v) => v === 1),
  noticeId: req(isId),
  kind: req((v) => v === 'consent_withdrawn' || v === 'delete_data'),
  applicationId: req(isId),
  consentId: req(isId),
  to: req(isId),
  hops: req(isIdList),
  reason: req(isNoticeReason),
  issuedAt: req(isTimestamp),
  by: req(isId),
  keyId: req(isString),
};

const LEAF_SPECS: Record<Leaf['type'], Record<string, { optional?: boolean; test: (v: unknown) => boolean }>> = {
  hop: { type: req(isString), recordedAt: req(isTimestamp), header: req(isString), signature: req(isString) },
  receipt: { type: req(isString), recordedAt: req(isTimestamp), hopId: req(isString), receipt: req(isString), signature: req(isString) },
  refusal: {
    type: req(isString),
    recordedAt: req(isTimestamp),
    code: req((v) => isString(v) && /^[A-Z][A-Z0-9_]{1,63}$/.test(v)),
    message: req(isString),
    stage: req(isString),
    refusedBy: req(isString),
    applicationId: opt(isString),
    hopId: opt(isString),
    headerDigest: opt(isString),
    from: opt(isString),
    to: opt(isString),
  },
  party: { type: req(isString), recordedAt: req(isTimestamp), party: req(isObject) },
  consent: { type: req(isString), recordedAt: req(isTimestamp), consent: req(isObject) },
  consent_state: {
    type: req(isString),
    recordedAt: req(isTimestamp),
    consentId: req(isId),
    state: req((v) => v === 'withdrawn' || v === 'expired'),
    recipients: opt((v) => isIdList(v) && v.length > 0),
    by: req(isId),
    at: req(isTimestamp),
    deviceDigest: opt(isDigest),
  },
  notice: { type: req(isString), recordedAt: req(isTimestamp), notice: req(isString), signature: req(isString) },
  deletion: { type: req(isString), recordedAt: req(isTimestamp), applicationId: req(isId), reason: req(isNoticeReason), hops: req(isIdList) },
};

/** The leaf the bytes encode, or why they encode none. */
function decodeLeaf(data: Buffer): Leaf | string {
  const parsed = parseCanonical(data);
  if (!isObject(parsed)) return 'data is not canonical JSON of an object';
  const type = parsed.type;
  if (!isString(type) || !has(LEAF_SPECS, type)) return `data is not a known leaf type (type ${JSON.stringify(type)})`;
  const problem =
    membersProblem(parsed, LEAF_SPECS[type as Leaf['type']]) ??
    (type === 'party' ? membersProblem(parsed.party as Json, PARTY_SPEC) : type === 'consent' ? membersProblem(parsed.consent as Json, CONSENT_SPEC) : undefined);
  if (problem) return `${type} leaf ${type === 'party' || type === 'consent' ? `(or its ${type}) ` : ''}${problem}`;
  return parsed as unknown as Leaf;
}

function scopeOf(v: unknown): BundleScope | undefined {
  if (!isObject(v)) return undefined;
  if (v.kind === 'application' && membersProblem(v, { kind: req(isString), applicationId: req(isId) }) === undefined) return v as BundleScope;
  if (v.kind === 'party' && membersProblem(v, { kind: req(isString), partyId: req(isId), from: req(isString), to: req(isString) }) === undefined) {
    return v as BundleScope;
  }
  if (v.kind === 'direct-connection-audit' && membersProblem(v, { kind: req(isString) }) === undefined) return v as BundleScope;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// (a) structure

interface RawLeaf {
  index: number;
  data: Buffer;
  proof?: string[];
}

interface Shape {
  scope?: BundleScope;
  checkpoint?: string;
  complete: boolean;
  /** The leaf entries that are well formed; malformed ones are reported and set aside. */
  leaves: RawLeaf[];
  leafEntries: number;
  certificates: string[];
}

function checkStructure(bundle: unknown, checks: Checks): Shape {
  const shape: Shape = { complete: false, leaves: [], leafEntries: 0, certificates: [] };
  const check = 'bundle structure';
  if (!isObject(bundle)) {
    checks.fail(check, 'structure: the bundle is not a JSON object');
    return shape;
  }
  const mark = checks.list.length;
  if (bundle.format !== BUNDLE_FORMAT) checks.fail(check, `structure: format is ${JSON.stringify(bundle.format)}, want ${JSON.stringify(BUNDLE_FORMAT)}`);
  const scope = scopeOf(bundle.scope);
  if (scope) shape.scope = scope;
  else checks.fail(check, 'structure: scope is not an application, party or direct-connection-audit scope');
  if (!isTimestamp(bundle.generatedAt)) checks.fail(check, 'structure: generatedAt is not an RFC 3339 UTC timestamp');
  if (isString(bundle.checkpoint)) shape.checkpoint = bundle.checkpoint;
  else checks.fail(check, 'structure: checkpoint is not a string (a signed note)');
  if (typeof bundle.complete === 'boolean') shape.complete = bundle.complete;
  else checks.fail(check, 'structure: complete is not true or false');
  if (scope?.kind === 'direct-connection-audit' && bundle.complete !== true) {
    checks.fail(check, 'structure: a direct-connection-audit bundle must be complete: absence can only be shown over the whole log');
  }
  if (Array.isArray(bundle.certificates)) {
    bundle.certificates.forEach((c, i) => {
      if (isString(c)) shape.certificates.push(c);
      else checks.fail(check, `structure: certificates[${i}] is not a PEM string`);
    });
  } else {
    checks.fail(check, 'structure: certificates is not an array of PEM strings');
  }
  if (Array.isArray(bundle.leaves)) {
    shape.leafEntries = bundle.leaves.length;
    bundle.leaves.forEach((entry, i) => {
      const leaf = leafEntry(entry, i, checks);
      if (leaf) shape.leaves.push(leaf);
    });
  } else {
    checks.fail(check, 'structure: leaves is not an array');
  }
  // Only a complete bundle of an empty log may be empty: anything else would pass vacuously.
  if (Array.isArray(bundle.leaves) && bundle.leaves.length === 0 && bundle.complete !== true) {
    checks.fail(check, 'structure: the bundle holds no leaves');
  }
  if (checks.failuresSince(mark) === 0) {
    checks.pass(check, `${shape.leafEntries} leaves, ${shape.certificates.length} certificates, ${shape.complete ? 'complete' : 'with inclusion proofs'}`);
  }
  return shape;
}

function leafEntry(entry: unknown, i: number, checks: Checks): RawLeaf | undefined {
  const where = `structure: leaves[${i}]`;
  if (!isObject(entry)) {
    checks.fail('bundle structure', `${where} is not an object`);
    return undefined;
  }
  if (!Number.isSafeInteger(entry.index) || (entry.index as number) < 0) {
    checks.fail('bundle structure', `${where}.index is not a non-negative integer`);
    return undefined;
  }
  const index = entry.index as number;
  const data = fromB64url(entry.data);
  if (!data || data.length === 0) {
    checks.fail('bundle structure', `${where} (leaf ${index}): data is not non-empty canonical base64url`, index);
    return undefined;
  }
  if (entry.proof !== undefined && !isStringArray(entry.proof)) {
    checks.fail('bundle structure', `${where} (leaf ${index}): proof is not an array of base64url hashes`, index);
    return undefined;
  }
  return { index, data, ...(entry.proof !== undefined ? { proof: entry.proof as string[] } : {}) };
}

// ---------------------------------------------------------------------------------------------
// (b) checkpoint

const SIGNATURE_LINE = /^— (\S+) ([A-Za-z0-9+/]+=*)$/;


function signatureLineNames(text: string): string[] {
  const sep = text.lastIndexOf('\n\n');
  if (sep < 0) return [];
  return text
    .slice(sep + 2)
    .split('\n')
    .map((line) => SIGNATURE_LINE.exec(line)?.[1])
    .filter(isString);
}

function keyLabel(v: NoteVerifier): string {
  return `${v.name} (key id ${v.keyId.toString('hex')})`;
}

interface CheckpointResult {
  checkpoint?: Checkpoint;
  witnessedBy: string[];
}

function checkCheckpoint(text: string | undefined, routerVkey: string, witnessVkeys: string[], checks: Checks): CheckpointResult {
  const out: CheckpointResult = { witnessedBy: [] };
  let router: NoteVerifier | undefined;
  try {
    router = parseVkey(routerVkey);
  } catch (err) {
    checks.fail('router key', `router key: ${explain(err)}`);
  }
  const witnesses: NoteVerifier[] = [];
  witnessVkeys.forEach((vkey, i) => {
    try {
      witnesses.push(parseVkey(vkey));
    } catch (err) {
      checks.fail('witness key', `required witness key ${i + 1}: ${explain(err)}`);
    }
  });
  if (text === undefined) return out;

  if (router) {
    const check = `checkpoint signed by router key ${router.name}`;
    try {
      openNote(text, [router]);
      checks.pass(check);
    } catch (err) {
      const reason =
        err instanceof NoteError && err.code === 'NOTE_UNSIGNED'
          ? `checkpoint: not signed by the router key ${keyLabel(router)}`
          : `checkpoint: ${err instanceof Error ? err.message : String(err)}`;
      checks.fail(check, reason);
    }
  }
  for (const w of witnesses) {
    const check = `checkpoint cosigned by witness ${w.name}`;
    try {
      const opened = openNote(text, [w]);
      const at = opened.cosignedAt[w.name];
      checks.pass(check, at !== undefined ? `cosigned at ${new Date(at * 1000).toISOString()}` : undefined);
      out.witnessedBy.push(w.name);
    } catch (err) {
      const reason =
        err instanceof NoteError && err.code === 'NOTE_UNSIGNED'
          ? `checkpoint: required witness ${keyLabel(w)} did not cosign`
          : `checkpoint: ${err instanceof Error ? err.message : String(err)}`;
      checks.fail(check, reason);
    }
  }
  const pinned = new Set([router?.name, ...witnesses.map((w) => w.name)]);
  const unpinned = signatureLineNames(text).filter((n) => !pinned.has(n));
  if (unpinned.length > 0) {
    checks.pass('checkpoint signatures by keys not pinned', `ignored, not verified: ${unpinned.join(', ')}`);
  }

  const sep = text.lastIndexOf('\n\n');
  try {
    if (sep < 0) throw new NoteError('NOTE_MALFORMED', 'a signed note is text, a blank line, then signature lines');
    out.checkpoint = parseCheckpoint(text.slice(0, sep + 1));
    checks.pass('checkpoint body', `origin ${out.checkpoint.origin}, tree size ${out.checkpoint.size}, root ${out.checkpoint.rootHash.toString('base64')}`);
  } catch (err) {
    checks.fail('checkpoint body', `checkpoint: ${err instanceof Error ? err.message : String(err)}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// (c) leaves

interface DecodedLeaf {
  index: number;
  data: Buffer;
  leaf: Leaf;
}

function decodeProof(proof: string[]): Uint8Array[] | number {
  const out: Uint8Array[] = [];
  for (let k = 0; k < proof.length; k++) {
    const h = fromB64url(proof[k]);
    if (!h || h.length !== HASH_SIZE) return k;
    out.push(h);
  }
  return out;
}

/** Undefined when the leaf's proof leads to the root; otherwise why it does not. */
function inclusionProblem(leaf: RawLeaf, cp: Checkpoint): string | undefined {
  if (!leaf.proof) return 'has no inclusion proof, and the bundle is not complete';
  const proof = decodeProof(leaf.proof);
  if (typeof proof === 'number') return `inclusion proof hash ${proof} is not base64url of a ${HASH_SIZE}-byte hash`;
  try {
    verifyInclusion(leaf.index, cp.size, hashLeaf(leaf.data), proof, cp.rootHash);
    return undefined;
  } catch (err) {
    if (err instanceof RootMismatchError) return 'inclusion proof does not lead to the checkpoint root';
    if (err instanceof ProofLengthError) {
      return `inclusion proof has ${err.actualLength} hashes; leaf ${leaf.index} of a tree of ${cp.size} needs ${err.expectedLength}`;
    }
    return `inclusion proof: ${err instanceof MerkleError ? err.message : explain(err)}`;
  }
}

function checkLeaves(shape: Shape, cp: Checkpoint | undefined, checks: Checks, progress: Progress): DecodedLeaf[] {
  const mark = checks.list.length;
  // Indices first: a bundle must not show the same position twice or one the tree lacks.
  const seen = new Set<number>();
  const placed: RawLeaf[] = [];
  for (const leaf of shape.leaves) {
    if (seen.has(leaf.index)) {
      checks.fail('leaf index', `leaf ${leaf.index}: index appears more than once in the bundle`, leaf.index);
      continue;
    }
    seen.add(leaf.index);
    if (cp && leaf.index >= cp.size) {
      checks.fail('leaf index', `leaf ${leaf.index}: index is not below the checkpoint's tree size ${cp.size}`, leaf.index);
      continue;
    }
    placed.push(leaf);
  }

  // Which leaves the log vouches for. A leaf whose own proof fails is set aside: its content is
  // not in the log. A bundle-wide failure (no usable checkpoint, a complete bundle whose root
  // differs) already fails the bundle and singles out no leaf, so their content is still checked
  // for the report's sake.
  let vouched: RawLeaf[] = placed;
  if (!cp) {
    checks.fail('leaf inclusion', 'leaves: not proven: the bundle has no usable checkpoint');
  } else if (shape.complete) {
    const inOrder = shape.leaves.length === cp.size && shape.leaves.every((l, i) => l.index === i);
    if (!inOrder) {
      checks.fail('complete log', `complete bundle: leaves are not exactly indices 0..${cp.size - 1} in order (${shape.leafEntries} entries)`);
    } else {
      const root = merkleRoot(
        shape.leaves.map((l) => {
          progress.advance();
          return hashLeaf(l.data);
        }),
      );
      if (Buffer.from(root).equals(cp.rootHash)) checks.pass('complete log', `the ${cp.size} leaves hash to the checkpoint root`);
      else checks.fail('complete log', `complete bundle: the root of the ${cp.size} leaves is not the checkpoint root`);
    }
    // Proofs are not needed in a complete bundle; any that are present must still be right.
    vouched = placed.filter((leaf) => {
      const problem = leaf.proof ? inclusionProblem(leaf, cp) : undefined;
      if (problem) checks.fail('leaf inclusion', `leaf ${leaf.index}: ${problem}`, leaf.index);
      return !problem;
    });
  } else {
    vouched = [];
    for (const leaf of placed) {
      const problem = inclusionProblem(leaf, cp);
      if (problem) checks.fail('leaf inclusion', `leaf ${leaf.index}: ${problem}; its content is not used`, leaf.index);
      else vouched.push(leaf);
      progress.advance();
    }
    if (checks.failuresSince(mark) === 0) checks.pass('leaf inclusion', `${placed.length} inclusion proofs lead to the checkpoint root`);
  }
  progress.reach(shape.leafEntries);

  const decoded: DecodedLeaf[] = [];
  const before = checks.list.length;
  for (const leaf of [...vouched].sort((a, b) => a.index - b.index)) {
    progress.advance();
    const result = decodeLeaf(leaf.data);
    if (typeof result === 'string') checks.fail('leaf data', `leaf ${leaf.index}: ${result}`, leaf.index);
    else decoded.push({ index: leaf.index, data: leaf.data, leaf: result });
  }
  if (checks.failuresSince(before) === 0) checks.pass('leaf data', `${decoded.length} leaves are canonical JSON of known leaf types`);
  return decoded;
}

// ---------------------------------------------------------------------------------------------
// (d) certificates

/** The DER a PEM carries, read strictly: one base64 text, canonical, between the two markers. */
function pemDer(pem: string): Buffer | undefined {
  const m = /^-----BEGIN CERTIFICATE-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)-----END CERTIFICATE-----(?:\r?\n)?$/.exec(pem);
  if (!m) return undefined;
  const text = m[1]!.replace(/\r?\n/g, '');
  const der = Buffer.from(text, 'base64');
  return der.length > 0 && der.toString('base64') === text ? der : undefined;
}

function parseBundledCertificate(pem: string, caPem: string): CertificateInfo | string {
  const der = pemDer(pem);
  if (!der) return 'PEM is not one canonical base64 CERTIFICATE block';
  let info: CertificateInfo;
  try {
    info = parseCertificate(pem, caPem);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // parseCertificate's own reasons name the certificate; node-forge's parse errors do not.
    return message.startsWith('certificate ') ? message : `certificate does not parse as X.509 (${message})`;
  }
  // A key id is SHA-256 of the DER as issued (certificateFingerprint); parseCertificate must agree,
  // or one certificate would have two identities.
  if (b64url(sha256(der)) !== info.keyId) return 'certificate DER is not in the form its key id is computed from';
  return info;
}

function checkCertificates(shape: Shape, caPem: string, cache: VerifierCache, checks: Checks): Map<string, CertificateInfo> {
  const byKeyId = new Map<string, CertificateInfo>();
  try {
    new X509Certificate(caPem);
  } catch {
    checks.fail('trust root', 'CA certificate: the trust root given is not a PEM certificate');
    return byKeyId;
  }
  const mark = checks.list.length;
  shape.certificates.forEach((pem, i) => {
    const key = `${caPem}\n${pem}`;
    let result = cache.certificates.get(key);
    if (result === undefined) {
      result = parseBundledCertificate(pem, caPem);
      cache.certificates.set(key, result);
    }
    if (typeof result === 'string') checks.fail('certificate', `certificate ${i}: ${result}`);
    else byKeyId.set(result.keyId, result);
  });
  if (checks.failuresSince(mark) === 0) checks.pass('certificate', `${byKeyId.size} certificates are issued by the network CA`);
  return byKeyId;
}

// ---------------------------------------------------------------------------------------------
// (e) party leaves and the registry as of a leaf

interface PartySnapshot {
  index: number;
  record: PartyRecord;
}

class Registry {
  private readonly snapshots = new Map<string, PartySnapshot[]>();
  /** This bundle's registries, by the party leaves they are built from. */
  private readonly byLabel = new Map<string, NetworkDirectory | string>();

  constructor(
    private readonly caPem: string,
    private readonly cache: VerifierCache,
    private readonly checks: Checks,
  ) {}

  add(snapshot: PartySnapshot): void {
    const list = this.snapshots.get(snapshot.record.id) ?? [];
    list.push(snapshot);
    this.snapshots.set(snapshot.record.id, list);
  }

  get partyCount(): number {
    return this.snapshots.size;
  }

  /** Every party as its latest snapshot recorded below `index` said. */
  asOf(index: number): NetworkDirectory | undefined {
    const latest: PartySnapshot[] = [];
    for (const list of this.snapshots.values()) {
      let found: PartySnapshot | undefined;
      for (const s of list) if (s.index < index && (!found || s.index > found.index)) found = s;
      if (found) latest.push(found);
    }
    const label = latest.map((s) => s.index).sort((a, b) => a - b).join(',');
    let dir = this.byLabel.get(label);
    if (dir === undefined) {
      dir = this.build(latest.map((s) => s.record).sort((a, b) => (a.id < b.id ? -1 : 1)));
      this.byLabel.set(label, dir);
      if (typeof dir === 'string') this.checks.fail('registry', `registry of party leaves ${label || '(none)'}: ${dir}`);
    }
    return typeof dir === 'string' ? undefined : dir;
  }

  private build(records: PartyRecord[]): NetworkDirectory | string {
    const key = `${this.caPem}\n${canonicalJson(records).toString('utf8')}`;
    let dir = this.cache.directories.get(key);
    if (dir === undefined) {
      try {
        dir = new NetworkDirectory(this.caPem, records);
      } catch (err) {
        dir = err instanceof Error ? err.message : String(err);
      }
      this.cache.directories.set(key, dir);
    }
    return dir;
  }
}

function checkParties(leaves: DecodedLeaf[], certs: Map<string, CertificateInfo>, registry: Registry, checks: Checks, progress: Progress): void {
  const mark = checks.list.length;
  let count = 0;
  for (const { index, leaf } of leaves) {
    if (leaf.type !== 'party') continue;
    count++;
    const p = (leaf as PartyLeaf).party;
    const pems: string[] = [];
    for (const keyId of p.certificates) {
      const c = certs.get(keyId);
      if (!c) {
        checks.fail('party certificates', `leaf ${index} (party ${p.id}): certificate ${keyId} is not in the bundle or not issued by the network CA`, index);
      } else if (c.partyId !== p.id || c.role !== p.role) {
        checks.fail('party certificates', `leaf ${index} (party ${p.id}): certificate ${keyId} names ${c.partyId}/${c.role}, not ${p.id}/${p.role}`, index);
      } else {
        pems.push(c.pem);
      }
    }
    registry.add({
      index,
      record: {
        id: p.id,
        role: p.role,
        legalName: p.legalName,
        ...(p.licence ? { licence: p.licence as ChannelLicence } : {}),
        certificates: pems,
        ...(p.revoked ? { revoked: p.revoked } : {}),
      },
    });
    progress.advance();
  }
  if (checks.failuresSince(mark) === 0) checks.pass('party certificates', `${count} party leaves; every certificate they name is in the bundle`);
}

// ---------------------------------------------------------------------------------------------
// (f) hops, (g) receipts, (h) routing, (i) the direct-connection audit

interface VerifiedHop {
  index: number;
  header: HopHeader;
  headerDigest: string;
}

function checkHops(leaves: DecodedLeaf[], scope: BundleScope | undefined, registry: Registry, checks: Checks, progress: Progress): Map<string, VerifiedHop> {
  const mark = checks.list.length;
  const hops = new Map<string, VerifiedHop>();
  for (const { index, leaf } of leaves) {
    if (leaf.type !== 'hop') continue;
    progress.advance();
    const l = leaf as HopLeaf;
    const headerBytes = fromB64url(l.header);
    const signature = fromB64url(l.signature);
    if (!headerBytes || !signature) {
      checks.fail('hop signature', `leaf ${index}: hop header or signature is not canonical base64url`, index);
      continue;
    }
    let header: HopHeader;
    try {
      header = decodeHeader(headerBytes);
    } catch (err) {
      checks.fail('hop header', `leaf ${index}: hop header: ${explain(err)}`, index);
      continue;
    }
    const label = `leaf ${index} (hop ${header.hopId})`;
    const earlier = hops.get(header.hopId);
    if (earlier) {
      checks.fail('hop header', `${label}: hop id already recorded at leaf ${earlier.index}`, index);
      continue;
    }
    hops.set(header.hopId, { index, header, headerDigest: headerDigestOf(headerBytes) });
    if (scope?.kind === 'application' && header.applicationId !== scope.applicationId) {
      checks.fail('hop scope', `${label}: belongs to application ${header.applicationId}, outside the bundle's scope ${scope.applicationId}`, index);
    }
    const dir = registry.asOf(index);
    if (!dir) {
      checks.fail('hop signature', `${label}: no registry to verify the sender against`, index);
      continue;
    }
    try {
      verifySender(header, headerBytes, signature, dir.signerOf);
    } catch (err) {
      checks.fail('hop signature', `${label}: ${explain(err)}`, index);
    }
    const enc = dir.certificate(header.recipientKeyId);
    const at = new Date(header.issuedAt);
    if (!enc || enc.usage !== 'enc' || enc.partyId !== header.to || !certificateValidAt(enc, at)) {
      checks.fail('hop recipient key', `${label}: recipientKeyId ${header.recipientKeyId} is not an encryption certificate of ${header.to} valid at ${header.issuedAt}`, index);
    }
  }
  if (checks.failuresSince(mark) === 0) checks.pass('hop signature', `${hops.size} hops signed by their senders' registered certificates`);
  return hops;
}

interface ReceiptsResult {
  /** Receipt leaves for hops, and those naming neither a hop nor a notice. */
  count: number;
  /** Receipt leaves naming a notice: acknowledgements, checked once the notices are (N). */
  acknowledgements: DecodedLeaf[];
}

function checkReceipts(
  leaves: DecodedLeaf[],
  hops: Map<string, VerifiedHop>,
  noticeIds: Set<string>,
  registry: Registry,
  checks: Checks,
  progress: Progress,
): ReceiptsResult {
  const mark = checks.list.length;
  const out: ReceiptsResult = { count: 0, acknowledgements: [] };
  for (const entry of leaves) {
    const { index, leaf } = entry;
    if (leaf.type !== 'receipt') continue;
    const l = leaf as ReceiptLeaf;
    const hop = hops.get(l.hopId);
    if (!hop && noticeIds.has(l.hopId)) {
      out.acknowledgements.push(entry);
      continue;
    }
    out.count++;
    progress.advance();
    if (!hop) {
      checks.fail('receipt', `leaf ${index}: receipt names a hop or notice not in the bundle (${l.hopId})`, index);
      continue;
    }
    const dir = registry.asOf(index);
    if (!dir) {
      checks.fail('receipt', `leaf ${index} (receipt for hop ${l.hopId}): no registry to verify the recipient against`, index);
      continue;
    }
    try {
      verifyReceipt({ receipt: l.receipt, signature: l.signature }, { hopId: hop.header.hopId, headerDigest: hop.headerDigest, by: hop.header.to }, dir.signerOf);
    } catch (err) {
      checks.fail('receipt', `leaf ${index} (receipt for hop ${l.hopId}): ${explain(err)}`, index);
    }
  }
  if (checks.failuresSince(mark) === 0) checks.pass('receipt', `${out.count} receipts signed by their hops' recipients`);
  return out;
}

function consentsOf(leaves: DecodedLeaf[], checks: Checks): Map<string, Consent> {
  const consents = new Map<string, Consent>();
  for (const { index, leaf } of leaves) {
    if (leaf.type !== 'consent') continue;
    const c = (leaf as ConsentLeaf).consent;
    const earlier = consents.get(c.id);
    if (earlier && !canonicalJson(earlier).equals(canonicalJson(c))) {
      checks.fail('consent', `leaf ${index}: consent ${c.id} is recorded again with different terms`, index);
      continue;
    }
    consents.set(c.id, c);
  }
  return consents;
}

interface StateChange {
  index: number;
  leaf: ConsentStateLeaf;
}

/** The consent_state leaves of the bundle by consent id, in leaf order. */
function consentStatesOf(leaves: DecodedLeaf[]): Map<string, StateChange[]> {
  const states = new Map<string, StateChange[]>();
  for (const { index, leaf } of leaves) {
    if (leaf.type !== 'consent_state') continue;
    const s = leaf as ConsentStateLeaf;
    const list = states.get(s.consentId) ?? [];
    list.push({ index, leaf: s });
    states.set(s.consentId, list);
  }
  return states;
}

/** Whether the change ends the consent for `recipient`: one the consent names, and the change lists (or all). */
function endsFor(change: ConsentStateLeaf, consent: Consent, recipient: string): boolean {
  return consent.recipients.includes(recipient) && (change.recipients === undefined || change.recipients.includes(recipient));
}

function checkRouting(hops: Map<string, VerifiedHop>, consents: Map<string, Consent>, states: Map<string, StateChange[]>, registry: Registry, checks: Checks): void {
  const mark = checks.list.length;
  // A bank's own consent for an application (redirect model), withdrawn, withdraws the application's consent for its recipients.
  const ownWithdrawals = new Map<string, (StateChange & { of: Consent })[]>();
  for (const [consentId, list] of states) {
    const of = consents.get(consentId);
    if (!of?.applicationId) continue;
    const withdrawals = list.filter((s) => s.leaf.state === 'withdrawn').map((s) => ({ ...s, of }));
    ownWithdrawals.set(of.applicationId, [...(ownWithdrawals.get(of.applicationId) ?? []), ...withdrawals]);
  }
  for (const { index, header } of hops.values()) {
    const consent = consents.get(header.consentRef);
    if (!consent) {
      checks.fail('routing', `hop ${header.hopId}: no consent leaf for ${header.consentRef}`, index);
      continue;
    }
    const dir = registry.asOf(index);
    if (!dir) {
      checks.fail('routing', `hop ${header.hopId}: routing not checked: no registry as of leaf ${index}`, index);
      continue;
    }
    try {
      checkRoute(header, { directory: dir, consent, at: new Date(header.issuedAt) });
    } catch (err) {
      checks.fail('routing', `hop ${header.hopId}: ${explain(err)}`, index);
      continue;
    }
    // The router learns of a withdrawal or an expiry when it records it: no hop to that recipient after.
    const ended = [...(states.get(consent.id) ?? []).map((s) => ({ ...s, of: consent })), ...(ownWithdrawals.get(header.applicationId) ?? [])]
      .filter((s) => s.index < index && consent.recipients.includes(header.to) && endsFor(s.leaf, s.of, header.to))
      .sort((a, b) => a.index - b.index)[0];
    if (ended) {
      const code = ended.leaf.state === 'withdrawn' ? 'CONSENT_WITHDRAWN' : 'CONSENT_EXPIRED';
      checks.fail('routing', `hop ${header.hopId}: ${code} — consent ${ended.leaf.consentId} was ${ended.leaf.state} for ${header.to} at leaf ${ended.index}, before this hop was recorded`, index);
    }
  }
  if (checks.failuresSince(mark) === 0) checks.pass('routing', `${hops.size} hops follow the routing rules under their consents`);
}

function roleOf(dir: NetworkDirectory | undefined, partyId: string): PartyRole | undefined {
  return dir?.party(partyId)?.role;
}

function checkNoDirectConnection(hops: Map<string, VerifiedHop>, registry: Registry, checks: Checks): void {
  const direct: string[] = [];
  const unresolved: string[] = [];
  let redirects = 0;
  for (const { index, header } of hops.values()) {
    const dir = registry.asOf(index);
    const from = roleOf(dir, header.from);
    const to = roleOf(dir, header.to);
    if (!from || !to) unresolved.push(`hop ${header.hopId} (leaf ${index})`);
    else if (from === 'platform' && to === 'bank') {
      // the one lawful platform → bank hop: a redirect carrying the router's token and nothing personal
      let bare = false;
      try {
        bare = isBareRedirect(header);
      } catch {
        bare = false;
      }
      if (bare) redirects++;
      else direct.push(`hop ${header.hopId} (leaf ${index}) ${header.from} → ${header.to}`);
    }
  }
  const check = `no platform → bank hop in the log (${hops.size} hops checked${redirects ? `; ${redirects} redirect hops carry only the token` : ''})`;
  if (direct.length > 0) checks.fail(check, `direct connection: platform → bank hop in the log: ${direct.join('; ')}`);
  else if (unresolved.length > 0) checks.fail(check, `direct connection: cannot show absence: the roles of ${unresolved.join(', ')} are not in the registry`);
  else checks.pass(check);
}

function listRefusals(leaves: DecodedLeaf[], checks: Checks): number {
  let count = 0;
  for (const { index, leaf } of leaves) {
    if (leaf.type !== 'refusal') continue;
    count++;
    const r = leaf as RefusalLeaf;
    const what = r.hopId ? ` hop ${r.hopId}` : r.applicationId ? ` application ${r.applicationId}` : '';
    checks.pass(`refusal at index ${index}: ${r.code} at ${r.stage}`, `${r.refusedBy} refused${what}: ${r.message}`, index);
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// (l) consent state, (m) notices, (n) acknowledgements, (o) erasure

/**
 * Whether the bundle must hold everything a lifecycle leaf refers to: an application bundle holds
 * its application's hops, consents and their states; a complete bundle holds the whole log. A
 * party bundle holds a slice, so an absence there shows nothing.
 */
function isClosed(scope: BundleScope | undefined, complete: boolean): boolean {
  return complete || scope?.kind === 'application';
}

function checkConsentStates(
  states: Map<string, StateChange[]>,
  consents: Map<string, Consent>,
  closed: boolean,
  registry: Registry,
  checks: Checks,
  progress: Progress,
): void {
  const all = [...states.values()].flat().sort((a, b) => a.index - b.index);
  if (all.length === 0) return;
  const mark = checks.list.length;
  let unchecked = 0;
  for (const { index, leaf: s } of all) {
    progress.advance();
    const label = `leaf ${index} (consent ${s.consentId} ${s.state})`;
    const consent = consents.get(s.consentId);
    if (!consent) {
      if (closed) checks.fail('consent state', `${label}: no consent leaf for ${s.consentId} in the bundle`, index);
      else unchecked++;
      continue;
    }
    const unnamed = (s.recipients ?? []).filter((r) => !consent.recipients.includes(r));
    if (unnamed.length > 0) checks.fail('consent state', `${label}: names ${unnamed.join(', ')}, which the consent does not name as recipients`, index);
    if (s.state === 'withdrawn') {
      const creator = consent.createdBy ?? consent.platformId;
      if (s.by !== creator) checks.fail('consent state', `${label}: recorded by ${s.by}; only ${creator}, which collected the consent, records its withdrawal`, index);
    } else {
      const role = roleOf(registry.asOf(index), s.by);
      if (role !== 'router') checks.fail('consent state', `${label}: recorded by ${s.by}, ${role ? `a ${role}` : 'not a party in the registry as of this leaf'}; only the router records an expiry`, index);
    }
  }
  if (checks.failuresSince(mark) === 0) {
    const withdrawn = all.filter((s) => s.leaf.state === 'withdrawn').length;
    const notHeld = unchecked > 0 ? `; ${unchecked} of consents this bundle does not hold, not checked` : '';
    checks.pass('consent state', `${withdrawn} withdrawals and ${all.length - withdrawn} expiries, recorded by the party entitled to${notHeld}`);
  }
}

interface VerifiedNotice {
  index: number;
  body: NoticeBody;
  digest: string;
}

/** The ids the notice leaves claim, read without checking, so that receipts can be sorted (G) before notices are checked (M). */
function noticeIdsOf(leaves: DecodedLeaf[]): Set<string> {
  const ids = new Set<string>();
  for (const { leaf } of leaves) {
    if (leaf.type !== 'notice') continue;
    const bytes = fromB64url((leaf as NoticeLeaf).notice);
    const body = bytes ? parseCanonical(bytes) : undefined;
    if (isObject(body) && isString(body.noticeId)) ids.add(body.noticeId);
  }
  return ids;
}

interface NoticeContext {
  scope: BundleScope | undefined;
  closed: boolean;
  hops: Map<string, VerifiedHop>;
  consents: Map<string, Consent>;
  states: Map<string, StateChange[]>;
  registry: Registry;
}

function checkNotices(leaves: DecodedLeaf[], ctx: NoticeContext, checks: Checks, progress: Progress): Map<string, VerifiedNotice> {
  const mark = checks.list.length;
  const notices = new Map<string, VerifiedNotice>();
  let count = 0;
  for (const { index, leaf } of leaves) {
    if (leaf.type !== 'notice') continue;
    count++;
    progress.advance();
    const l = leaf as NoticeLeaf;
    const bytes = fromB64url(l.notice);
    if (!bytes || !fromB64url(l.signature)) {
      checks.fail('notice', `leaf ${index}: NOTICE_INVALID — notice or signature is not canonical base64url`, index);
      continue;
    }
    const parsed = parseCanonical(bytes);
    const problem = isObject(parsed) ? membersProblem(parsed, NOTICE_SPEC) : 'bytes are not canonical JSON of an object';
    if (problem) {
      checks.fail('notice', `leaf ${index}: NOTICE_INVALID — notice ${problem}`, index);
      continue;
    }
    const body = parsed as unknown as NoticeBody;
    const label = `leaf ${index} (notice ${body.noticeId} to ${body.to})`;
    const earlier = notices.get(body.noticeId);
    if (earlier) {
      checks.fail('notice', `${label}: notice id already recorded at leaf ${earlier.index}`, index);
      continue;
    }
    if (ctx.hops.has(body.noticeId)) {
      checks.fail('notice', `${label}: notice id is also the id of hop leaf ${ctx.hops.get(body.noticeId)!.index}; a receipt could not say which it acknowledges`, index);
      continue;
    }
    notices.set(body.noticeId, { index, body, digest: noticeDigest(bytes) });
    if (ctx.scope?.kind === 'application' && body.applicationId !== ctx.scope.applicationId) {
      checks.fail('notice scope', `${label}: belongs to application ${body.applicationId}, outside the bundle's scope ${ctx.scope.applicationId}`, index);
    }
    checkNoticeSignature(index, label, l, body, ctx.registry, checks);
    if (ctx.closed) checkNoticeSubject(index, label, body, ctx, checks);
  }
  if (count > 0 && checks.failuresSince(mark) === 0) {
    checks.pass('notice', `${count} notices signed by the router, each naming hops its addressee received`);
  }
  return notices;
}

function checkNoticeSignature(index: number, label: string, l: NoticeLeaf, body: NoticeBody, registry: Registry, checks: Checks): void {
  const dir = registry.asOf(index);
  if (!dir) {
    checks.fail('notice signature', `${label}: no registry to verify the router against`, index);
    return;
  }
  const role = roleOf(dir, body.by);
  if (role !== 'router') {
    checks.fail('notice signature', `${label}: NOTICE_INVALID — signed by ${body.by}, ${role ? `a ${role}` : 'not a party in the registry'}; only the router signs notices`, index);
    return;
  }
  if (!dir.party(body.to)) checks.fail('notice signature', `${label}: addressed to ${body.to}, not a party in the registry as of this leaf`, index);
  try {
    verifyNotice({ notice: l.notice, signature: l.signature }, { by: body.by, to: body.to }, dir.signerOf);
  } catch (err) {
    checks.fail('notice signature', `${label}: ${explain(err)}`, index);
  }
}

/** What a notice refers to is in a bundle that holds all of it: its consent, its hops, the withdrawal it passes on. */
function checkNoticeSubject(index: number, label: string, body: NoticeBody, ctx: NoticeContext, checks: Checks): void {
  if (!ctx.consents.has(body.consentId)) checks.fail('notice', `${label}: no consent leaf for ${body.consentId} in the bundle`, index);
  for (const hopId of body.hops) {
    const hop = ctx.hops.get(hopId);
    if (!hop) checks.fail('notice', `${label}: names hop ${hopId}, which is not in the bundle`, index);
    else if (hop.header.applicationId !== body.applicationId) checks.fail('notice', `${label}: names hop ${hopId} of application ${hop.header.applicationId}, not ${body.applicationId}`, index);
    else if (hop.header.to !== body.to) checks.fail('notice', `${label}: names hop ${hopId}, which went to ${hop.header.to}, not to ${body.to}`, index);
  }
  // The withdrawal may be of the application's consent or, in the redirect model, of the bank's own consent for it.
  const concerns = (consentId: string) => consentId === body.consentId || ctx.consents.get(consentId)?.applicationId === body.applicationId;
  const withdrawn = [...ctx.states.values()].flat().some((s) => s.index < index && s.leaf.state === 'withdrawn' && concerns(s.leaf.consentId));
  if (body.kind === 'consent_withdrawn' && !withdrawn) {
    checks.fail('notice', `${label}: tells of a withdrawal, but no earlier consent_state leaf withdraws consent ${body.consentId} or a consent of application ${body.applicationId}`, index);
  }
}

interface AcknowledgementsResult {
  count: number;
  accepted: number;
}

/** Receipts naming a notice: signed by the notice's addressee over the notice's digest. They show no field seen. */
function checkAcknowledgements(acks: DecodedLeaf[], notices: Map<string, VerifiedNotice>, registry: Registry, checks: Checks, progress: Progress): AcknowledgementsResult {
  const out: AcknowledgementsResult = { count: 0, accepted: 0 };
  if (acks.length === 0 && notices.size === 0) return out;
  const mark = checks.list.length;
  const acknowledged = new Set<string>();
  for (const { index, leaf } of acks) {
    out.count++;
    progress.advance();
    const l = leaf as ReceiptLeaf;
    const label = `leaf ${index} (acknowledgement of notice ${l.hopId})`;
    const notice = notices.get(l.hopId);
    if (!notice) {
      checks.fail('acknowledgement', `${label}: the notice's own leaf did not pass its checks, so there is nothing to match`, index);
      continue;
    }
    const dir = registry.asOf(index);
    if (!dir) {
      checks.fail('acknowledgement', `${label}: no registry to verify ${notice.body.to} against`, index);
      continue;
    }
    let body: ReceiptBody;
    try {
      body = verifyReceipt({ receipt: l.receipt, signature: l.signature }, { hopId: notice.body.noticeId, headerDigest: notice.digest, by: notice.body.to }, dir.signerOf).body;
    } catch (err) {
      checks.fail('acknowledgement', `${label}: ${explain(err)}`, index);
      continue;
    }
    acknowledged.add(notice.body.noticeId);
    if (body.status === 'accepted') out.accepted++;
  }
  if (checks.failuresSince(mark) === 0) {
    const pending = notices.size - acknowledged.size;
    checks.pass(
      'acknowledgement',
      `${out.count} acknowledgements signed by the parties notified (${out.accepted} accepted, ${out.count - out.accepted} rejected); ${pending} of ${notices.size} notices not acknowledged in the bundle`,
    );
  }
  return out;
}

function checkDeletions(leaves: DecodedLeaf[], scope: BundleScope | undefined, closed: boolean, hops: Map<string, VerifiedHop>, checks: Checks, progress: Progress): number {
  const mark = checks.list.length;
  let count = 0;
  for (const { index, leaf } of leaves) {
    if (leaf.type !== 'deletion') continue;
    count++;
    progress.advance();
    const d = leaf as DeletionLeaf;
    const label = `leaf ${index} (deletion for application ${d.applicationId})`;
    if (scope?.kind === 'application' && d.applicationId !== scope.applicationId) {
      checks.fail('deletion scope', `${label}: outside the bundle's scope ${scope.applicationId}`, index);
    }
    const seen = new Set<string>();
    for (const hopId of d.hops) {
      if (seen.has(hopId)) checks.fail('deletion', `${label}: names hop ${hopId} twice`, index);
      seen.add(hopId);
      if (!closed) continue;
      const hop = hops.get(hopId);
      if (!hop) checks.fail('deletion', `${label}: names hop ${hopId}, which is not a hop of the bundle`, index);
      else if (hop.header.applicationId !== d.applicationId) checks.fail('deletion', `${label}: names hop ${hopId} of application ${hop.header.applicationId}`, index);
    }
  }
  if (count > 0 && checks.failuresSince(mark) === 0) checks.pass('deletion', `${count} deletions, each naming hops of its own application`);
  return count;
}

function provenanceOf(hops: Map<string, VerifiedHop>): HopProvenance[] {
  return [...hops.values()]
    .filter((h) => h.header.provenance !== undefined)
    .sort((a, b) => a.index - b.index)
    .map(({ header: h }) => ({ hopId: h.hopId, applicationId: h.applicationId, kind: h.kind, from: h.from, name: h.provenance!.name, version: h.provenance!.version }));
}

// ---------------------------------------------------------------------------------------------

export function verifyBundle(input: VerifyInput): VerifyReport {
  const checks = new Checks();
  const summary: VerifySummary = {
    leaves: 0,
    hops: 0,
    receipts: 0,
    refusals: 0,
    parties: 0,
    consents: 0,
    withdrawals: 0,
    expiries: 0,
    notices: 0,
    acknowledgements: 0,
    deletions: 0,
    provenance: [],
    witnessedBy: [],
  };
  const report = (scope?: BundleScope, treeSize?: number): VerifyReport => {
    const failures = checks.list.filter((c) => !c.ok).map((c) => c.reason ?? c.check);
    return {
      ok: checks.list.length > 0 && failures.length === 0,
      ...(scope ? { scope } : {}),
      ...(treeSize !== undefined ? { treeSize } : {}),
      checks: checks.list,
      failures,
      summary,
    };
  };
  let scope: BundleScope | undefined;
  let treeSize: number | undefined;
  try {
    const caPem = isString(input?.caPem) ? input.caPem : '';
    const routerVkey = isString(input?.routerVkey) ? input.routerVkey : '';
    const witnessVkeys = Array.isArray(input?.requireWitnesses) ? input.requireWitnesses.map((w) => (isString(w) ? w : '')) : [];
    const cache = input?.cache ?? createVerifierCache();

    const shape = checks.guard('structure', () => checkStructure(input?.bundle, checks)) ?? { complete: false, leaves: [], leafEntries: 0, certificates: [] };
    scope = shape.scope;
    summary.leaves = shape.leafEntries;
    // Three passes over the leaves: proofs (or the root), decoding, then the content checks.
    const progress = new Progress(3 * shape.leafEntries, input?.onProgress);

    const cp = checks.guard('checkpoint', () => checkCheckpoint(shape.checkpoint, routerVkey, witnessVkeys, checks));
    summary.witnessedBy = cp?.witnessedBy ?? [];
    treeSize = cp?.checkpoint?.size;

    const leaves = checks.guard('leaves', () => checkLeaves(shape, cp?.checkpoint, checks, progress)) ?? [];
    const certs = checks.guard('certificates', () => checkCertificates(shape, caPem, cache, checks)) ?? new Map<string, CertificateInfo>();
    const registry = new Registry(caPem, cache, checks);
    checks.guard('party leaves', () => checkParties(leaves, certs, registry, checks, progress));
    summary.parties = registry.partyCount;
    const hops = checks.guard('hops', () => checkHops(leaves, scope, registry, checks, progress)) ?? new Map<string, VerifiedHop>();
    summary.hops = hops.size;
    summary.provenance = provenanceOf(hops);
    const noticeIds = noticeIdsOf(leaves);
    const receipts = checks.guard('receipts', () => checkReceipts(leaves, hops, noticeIds, registry, checks, progress));
    summary.receipts = receipts?.count ?? 0;
    summary.acknowledgements = receipts?.acknowledgements.length ?? 0;
    const consents = checks.guard('consents', () => consentsOf(leaves, checks)) ?? new Map<string, Consent>();
    summary.consents = leaves.filter((l) => l.leaf.type === 'consent').length;
    const states = consentStatesOf(leaves);
    const changes = [...states.values()].flat();
    summary.withdrawals = changes.filter((s) => s.leaf.state === 'withdrawn').length;
    summary.expiries = changes.length - summary.withdrawals;
    checks.guard('routing', () => checkRouting(hops, consents, states, registry, checks));
    if (shape.complete) checks.guard('direct connection', () => checkNoDirectConnection(hops, registry, checks));
    summary.refusals = checks.guard('refusals', () => listRefusals(leaves, checks)) ?? 0;

    const closed = isClosed(scope, shape.complete);
    checks.guard('consent state', () => checkConsentStates(states, consents, closed, registry, checks, progress));
    const notices = checks.guard('notices', () => checkNotices(leaves, { scope, closed, hops, consents, states, registry }, checks, progress)) ?? new Map<string, VerifiedNotice>();
    summary.notices = leaves.filter((l) => l.leaf.type === 'notice').length;
    checks.guard('acknowledgements', () => checkAcknowledgements(receipts?.acknowledgements ?? [], notices, registry, checks, progress));
    summary.deletions = checks.guard('deletions', () => checkDeletions(leaves, scope, closed, hops, checks, progress)) ?? 0;
    progress.finish();
  } catch (err) {
    checks.fail('verifier', `verifier error: ${err instanceof Error ? err.message : String(err)}`);
  }
  return report(scope, treeSize);
}
