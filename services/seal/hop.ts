/**
 * The sealed hop (contracts/envelope.md is the byte-level specification).
 *
 *   header     RFC 8785 canonical JSON, signed by the sender, forwarded as bytes
 *   wrappedKey a fresh content key wrapped for the recipient's encryption certificate
 *   iv, ciphertext  the AEAD of the canonical body {salt, fields}, tag appended,
 *              AAD = canonical header without `ciphertextDigest`
 *
 * The algorithms are two cipher suites (./suites): the sender's signs and digests (`alg.sig`,
 * `alg.digest`), the recipient's wraps and encrypts (`alg.wrap`, `alg.enc`). Between RSA parties
 * that is RSA-PSS, SHA-256, RSA-OAEP-256 and AES-256-GCM, all node:crypto, on the hot path.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DzlError } from '../common/errors';
import { namespaced } from '../domain/ids';
import { FIELD_CLASSES, HOP_KINDS, MODELS, type DecisionStatus, type FieldClass, type HopKind, type Model } from '../domain/hops';
import { b64url, fromB64url, lengthPrefixed } from './bytes';
import { canonicalJson, parseCanonical } from './canonical';
import {
  ACCEPTED_ALGORITHMS,
  hopAlgorithms,
  RSA_SUITE,
  suiteNamed,
  suiteOfKey,
  suitesOfAlg,
  type CipherSuite,
  type HopAlgorithms,
  type PartyPrivateKey,
  type PartyPublicKey,
  type SuiteName,
} from './suites/registry';

export type { CipherSuite, HopAlgorithms, PartyPrivateKey, PartyPublicKey, SuiteName } from './suites/registry';

export const HOP_VERSION = 1;
/** The `alg` of a hop between two RSA parties: what every hop carried before the SM suite. */
export const ALGORITHMS: Readonly<HopAlgorithms> = hopAlgorithms(RSA_SUITE, RSA_SUITE);

export type { FieldClass, HopKind, Model } from '../domain/hops';
export type FieldValue = string | number | boolean | null | FieldValue[] | { [key: string]: FieldValue };
export type Fields = Record<string, FieldValue>;

export interface ManifestEntry {
  field: string;
  class: FieldClass;
  /** HMAC(salt, field ‖ 0x00 ‖ canonical(value)) in the sender's suite, base64url. */
  digest: string;
}

export interface DecisionOutcome {
  status: DecisionStatus;
  reasonCode?: string;
}

/**
 * Decision provenance (PIPL Art. 24), in the clear because it names no one: on a credit report,
 * the channel's credit product; on a decision, the bank's decision model. Each with its version.
 */
export interface Provenance {
  name: string;
  version: string;
}

export interface HopHeader {
  v: typeof HOP_VERSION;
  hopId: string;
  /** The hop this one was derived from (credit report ← application ← nothing). */
  parentHopId?: string;
  applicationId: string;
  kind: HopKind;
  model: Model;
  from: string;
  to: string;
  platform: string;
  channel: string;
  consentRef: string;
  issuedAt: string;
  nonce: string;
  senderKeyId: string;
  recipientKeyId: string;
  alg: HopAlgorithms;
  manifest: ManifestEntry[];
  /** Decision hops only: what the router routes on. Amounts and rates stay sealed. */
  outcome?: DecisionOutcome;
  /** credit_report: the channel's product; decision: the bank's model. */
  provenance?: Provenance;
  ciphertextDigest: string;
}

/** The wire form (JSON over HTTP; bytes fields in gRPC). */
export interface SealedHop {
  header: string;
  signature: string;
  wrappedKey: string;
  iv: string;
  ciphertext: string;
}

/** A party's signing key; its suite (the key's type) decides `alg.sig` and `alg.digest`. */
export interface SigningIdentity {
  partyId: string;
  keyId: string;
  privateKey: PartyPrivateKey;
}

/** The recipient's encryption certificate; its suite decides `alg.wrap` and `alg.enc`. */
export interface RecipientCertificate {
  partyId: string;
  keyId: string;
  suite: SuiteName;
  publicKey: PartyPublicKey;
}

export interface SealRequest {
  hopId?: string;
  parentHopId?: string;
  applicationId: string;
  kind: HopKind;
  model: Model;
  to: RecipientCertificate;
  platform: string;
  channel: string;
  consentRef: string;
  fields: Fields;
  /** The application's salt; the same salt on every hop of an application links their digests. */
  salt: Buffer;
  classOf: (field: string) => FieldClass;
  outcome?: DecisionOutcome;
  provenance?: Provenance;
  now?: Date;
}

export interface SealedResult {
  sealed: SealedHop;
  header: HopHeader;
  headerBytes: Buffer;
  headerDigest: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16; // both AEADs (A256GCM, SM4-GCM) append a 128-bit tag
const SALT_BYTES = 32;
const NONCE_BYTES = 16;

export function newSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

/** §5: HMAC(salt, field ‖ 0x00 ‖ JCS(value)) with the MAC of the sealing party's suite. */
export function fieldDigest(salt: Uint8Array, field: string, value: FieldValue, suite: CipherSuite = RSA_SUITE): string {
  return b64url(suite.hmac(salt, Buffer.from(field, 'utf8'), Buffer.from([0]), canonicalJson(value)));
}

function algorithmsUnsupported(): DzlError {
  return new DzlError(
    'HOP_ALGORITHM_UNSUPPORTED',
    `header.alg must be one of ${ACCEPTED_ALGORITHMS.map((a) => JSON.stringify(a)).join(', ')} (the sender's sig and digest, the recipient's wrap and enc)`,
  );
}

/** The sender's and the recipient's suite of a header's `alg`, or HOP_ALGORITHM_UNSUPPORTED. */
export function suitesOf(alg: unknown): { sender: CipherSuite; recipient: CipherSuite } {
  const suites = suitesOfAlg(alg);
  if (!suites) throw algorithmsUnsupported();
  return suites;
}

function algOfHeaderBytes(headerBytes: Uint8Array): unknown {
  try {
    return (JSON.parse(Buffer.from(headerBytes).toString('utf8')) as { alg?: unknown }).alg;
  } catch {
    return undefined;
  }
}

/** §9: the hash of the sender's suite over the exact header bytes; `alg` is read from them when not given. */
export function headerDigestOf(headerBytes: Uint8Array, alg: unknown = algOfHeaderBytes(headerBytes)): string {
  return b64url(suitesOf(alg).sender.hash(headerBytes));
}

/** §8: the hash of the sender's suite over the length-prefixed wrapped key, IV and ciphertext. */
export function ciphertextDigestOf(sender: CipherSuite, wrappedKey: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): string {
  return b64url(sender.hash(lengthPrefixed(wrappedKey, iv, ciphertext)));
}

/** §7.1: the AAD is the canonical header without `ciphertextDigest`. */
export function aadOf(header: Omit<HopHeader, 'ciphertextDigest'> | HopHeader): Buffer {
  const { ciphertextDigest: _omit, ...rest } = header as HopHeader;
  return canonicalJson(rest);
}

/** A signature in the signer's suite (its key's): hop headers, receipts, notices, tokens, requests. */
export function signBytes(identity: { privateKey: PartyPrivateKey }, bytes: Uint8Array): Buffer {
  return suiteOfKey(identity.privateKey).sign(identity.privateKey, bytes);
}

/** Whether `signature` over `bytes` verifies under the key, in the key's suite; never throws. */
export function verifyBytes(publicKey: PartyPublicKey, bytes: Uint8Array, signature: Uint8Array): boolean {
  try {
    return suiteOfKey(publicKey).verify(publicKey, bytes, signature);
  } catch {
    return false;
  }
}

/**
 * A signature by a certificate's key in the certificate's suite: how receipts, notices, redirect
 * tokens and request signatures are checked ("they follow the signer's suite").
 */
export function verifyCertified(cert: { suite: SuiteName; publicKey: PartyPublicKey }, bytes: Uint8Array, signature: Uint8Array): boolean {
  const suite = suiteNamed(cert.suite);
  return suite.owns(cert.publicKey) && suite.verify(cert.publicKey, bytes, signature);
}

/** The manifest of a field set: name, class and salted digest per field; C3 is refused here. */
export function manifestOf(fields: Fields, salt: Buffer, classOf: (field: string) => FieldClass, suite: CipherSuite = RSA_SUITE): ManifestEntry[] {
  return Object.keys(fields)
    .sort()
    .map((field) => {
      const cls = classOf(field);
      if (cls === 'C3') {
        throw new DzlError('FIELD_C3_REFUSED', `field ${field} is C3 (authentication data) and may never be sent`, { field });
      }
      return { field, class: cls, digest: fieldDigest(salt, field, fields[field] as FieldValue, suite) };
    });
}

export type HeaderRequest = Omit<SealRequest, 'to' | 'fields' | 'salt' | 'classOf'>;

/** Every header member but ciphertextDigest (which the AAD leaves out); whatever library seals. */
export function unsignedHeader(
  from: { partyId: string; keyId: string },
  to: { partyId: string; keyId: string },
  req: HeaderRequest,
  manifest: ManifestEntry[],
  nonce: Uint8Array,
  alg: HopAlgorithms = ALGORITHMS,
): Omit<HopHeader, 'ciphertextDigest'> {
  return {
    v: HOP_VERSION,
    hopId: req.hopId ?? namespaced(from.partyId, `hop_${randomUUID()}`),
    ...(req.parentHopId ? { parentHopId: req.parentHopId } : {}),
    applicationId: req.applicationId,
    kind: req.kind,
    model: req.model,
    from: from.partyId,
    to: to.partyId,
    platform: req.platform,
    channel: req.channel,
    consentRef: req.consentRef,
    issuedAt: (req.now ?? new Date()).toISOString(),
    nonce: b64url(nonce),
    senderKeyId: from.keyId,
    recipientKeyId: to.keyId,
    alg: { ...alg },
    manifest,
    ...(req.outcome ? { outcome: req.outcome } : {}),
    ...(req.provenance ? { provenance: { name: req.provenance.name, version: req.provenance.version } } : {}),
  };
}

/**
 * Seals in the sender's suite (the suite of its signing key) for the recipient's suite (the suite
 * of its encryption certificate): §10, with the algorithms of §4.1 and §22.
 */
export function sealHop(sender: SigningIdentity, req: SealRequest): SealedResult {
  const senderSuite = suiteOfKey(sender.privateKey);
  const recipientSuite = suiteNamed(req.to.suite);
  const manifest = manifestOf(req.fields, req.salt, req.classOf, senderSuite);
  const unsigned = unsignedHeader(sender, req.to, req, manifest, randomBytes(NONCE_BYTES), hopAlgorithms(senderSuite, recipientSuite));
  const key = randomBytes(recipientSuite.contentKeyBytes);
  const iv = randomBytes(IV_BYTES);
  const body = canonicalJson({ salt: b64url(req.salt), fields: req.fields });
  const ciphertext = recipientSuite.sealBody(key, iv, aadOf(unsigned), body);
  const wrappedKey = recipientSuite.wrapKey(req.to.publicKey, key);
  const header: HopHeader = { ...unsigned, ciphertextDigest: ciphertextDigestOf(senderSuite, wrappedKey, iv, ciphertext) };
  const headerBytes = canonicalJson(header);
  const signature = senderSuite.sign(sender.privateKey, headerBytes);
  return {
    sealed: {
      header: b64url(headerBytes),
      signature: b64url(signature),
      wrappedKey: b64url(wrappedKey),
      iv: b64url(iv),
      ciphertext: b64url(ciphertext),
    },
    header,
    headerBytes,
    headerDigest: b64url(senderSuite.hash(headerBytes)),
  };
}

/** The decoded parts of a hop whose structure is sound; nothing is verified yet. */
export interface DecodedHop {
  sealed: SealedHop;
  header: HopHeader;
  /** The suite of `alg.sig` and `alg.digest`. */
  sender: CipherSuite;
  /** The suite of `alg.wrap` and `alg.enc`. */
  recipient: CipherSuite;
  headerBytes: Buffer;
  headerDigest: string;
  signature: Buffer;
  wrappedKey: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
}

/** Ids fit the store's 64-character keys; a consent reference may be longer. */
const ID = /^[A-Za-z0-9._:-]{1,64}$/;
const LONG_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const PROVENANCE = /^[A-Za-z0-9._:-]{1,64}$/;
const REASON_CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
export const HEADER_MEMBERS: ReadonlySet<string> = new Set([
  'v', 'hopId', 'parentHopId', 'applicationId', 'kind', 'model', 'from', 'to', 'platform', 'channel', 'consentRef',
  'issuedAt', 'nonce', 'senderKeyId', 'recipientKeyId', 'alg', 'manifest', 'outcome', 'provenance', 'ciphertextDigest',
]);

function malformed(message: string): DzlError {
  return new DzlError('HOP_MALFORMED', message);
}

function requireString(obj: Record<string, unknown>, key: string, pattern: RegExp = ID): string {
  const v = obj[key];
  if (typeof v !== 'string' || !pattern.test(v)) throw malformed(`header.${key} is missing or not a valid identifier`);
  return v;
}

/**
 * The header's structural checks alone (shape, canonical form, version, algorithms), for whoever
 * holds header bytes without the rest of the hop — the offline verifier of an evidence bundle.
 */
export function decodeHeader(headerBytes: Buffer): HopHeader {
  const parsed = parseCanonical(headerBytes);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformed('hop.header must be RFC 8785 canonical JSON of an object');
  }
  const h = parsed as Record<string, unknown>;
  if (h.v !== HOP_VERSION) {
    // never String(h.v): an object whose own toString is not a function makes String throw
    const version = typeof h.v === 'number' ? String(h.v) : `of type ${Array.isArray(h.v) ? 'array' : typeof h.v}`;
    throw new DzlError('HOP_VERSION_UNSUPPORTED', `hop version ${version} is not supported; use ${HOP_VERSION}`);
  }
  suitesOf(h.alg);
  const unknown = Object.keys(h).filter((k) => !HEADER_MEMBERS.has(k));
  if (unknown.length > 0) throw malformed(`header has members this version does not define: ${unknown.join(', ')}`);
  for (const k of ['hopId', 'applicationId', 'from', 'to', 'platform', 'channel']) requireString(h, k);
  requireString(h, 'consentRef', LONG_ID);
  if (h.parentHopId !== undefined) requireString(h, 'parentHopId');
  for (const k of ['nonce', 'senderKeyId', 'recipientKeyId', 'ciphertextDigest']) requireString(h, k, /^[A-Za-z0-9_-]{8,128}$/);
  if (!(HOP_KINDS as readonly string[]).includes(h.kind as string)) throw malformed(`header.kind must be one of ${HOP_KINDS.join(', ')}`);
  if (!(MODELS as readonly string[]).includes(h.model as string)) throw malformed(`header.model must be one of ${MODELS.join(', ')}`);
  if (typeof h.issuedAt !== 'string' || !RFC3339_UTC.test(h.issuedAt) || Number.isNaN(Date.parse(h.issuedAt))) {
    throw malformed('header.issuedAt must be an RFC 3339 UTC timestamp (YYYY-MM-DDThh:mm:ss.sssZ)');
  }
  if (!Array.isArray(h.manifest)) throw malformed('header.manifest must be an array');
  const seen = new Set<string>();
  for (const e of h.manifest as unknown[]) {
    const m = e as Record<string, unknown>;
    if (
      typeof m !== 'object' || m === null ||
      typeof m.field !== 'string' || !/^[a-zA-Z][a-zA-Z0-9.]{0,63}$/.test(m.field) ||
      !(FIELD_CLASSES as readonly string[]).includes(m.class as string) ||
      typeof m.digest !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(m.digest) ||
      Object.keys(m).length !== 3
    ) {
      throw malformed('header.manifest entries must be {field, class C1|C2|C3, digest}');
    }
    if (seen.has(m.field)) throw malformed(`header.manifest names field ${m.field} twice`);
    seen.add(m.field);
  }
  if (h.outcome !== undefined) {
    const o = h.outcome as Record<string, unknown>;
    if (
      h.kind !== 'decision' || typeof o !== 'object' || o === null ||
      (o.status !== 'approved' && o.status !== 'declined') ||
      Object.keys(o).some((k) => k !== 'status' && k !== 'reasonCode') ||
      (o.reasonCode !== undefined && (typeof o.reasonCode !== 'string' || !REASON_CODE.test(o.reasonCode)))
    ) {
      throw malformed('header.outcome is allowed on decision hops only: {status approved|declined, reasonCode? UPPER_SNAKE}');
    }
  } else if (h.kind === 'decision') {
    throw malformed('a decision hop must carry header.outcome');
  }
  if (h.provenance !== undefined) {
    const p = h.provenance as Record<string, unknown>;
    if (
      (h.kind !== 'credit_report' && h.kind !== 'decision') || typeof p !== 'object' || p === null || Array.isArray(p) ||
      Object.keys(p).length !== 2 || typeof p.name !== 'string' || !PROVENANCE.test(p.name) || typeof p.version !== 'string' || !PROVENANCE.test(p.version)
    ) {
      throw malformed('header.provenance is allowed on credit_report and decision hops only: {name, version}, each 1–64 of [A-Za-z0-9._:-]');
    }
  }
  return h as unknown as HopHeader;
}

/** Structural checks only: shapes, encodings, canonical form. Fails closed with HOP_MALFORMED. */
export function decodeHop(input: unknown): DecodedHop {
  if (typeof input !== 'object' || input === null) throw malformed('hop must be an object');
  const raw = input as Record<string, unknown>;
  const parts: Record<string, Buffer> = {};
  for (const k of ['header', 'signature', 'wrappedKey', 'iv', 'ciphertext'] as const) {
    const b = fromB64url(raw[k]);
    if (!b || b.length === 0) throw malformed(`hop.${k} must be non-empty base64url`);
    parts[k] = b;
  }
  const { header: headerBytes, signature, wrappedKey, iv, ciphertext } = parts as Record<string, Buffer>;
  if (iv!.length !== IV_BYTES) throw malformed(`hop.iv must be ${IV_BYTES} bytes`);
  if (ciphertext!.length < TAG_BYTES) throw malformed('hop.ciphertext is shorter than its authentication tag');
  const header = decodeHeader(headerBytes!);
  const suites = suitesOf(header.alg);
  return {
    sealed: raw as unknown as SealedHop,
    header,
    ...suites,
    headerBytes: headerBytes!,
    headerDigest: b64url(suites.sender.hash(headerBytes!)),
    signature: signature!,
    wrappedKey: wrappedKey!,
    iv: iv!,
    ciphertext: ciphertext!,
  };
}

export interface SignerCertificate {
  partyId: string;
  keyId: string;
  /** The suite of its key: what it signs receipts, notices, tokens and requests in. */
  suite: SuiteName;
  publicKey: PartyPublicKey;
  notBefore: Date;
  notAfter: Date;
  revokedAt?: Date;
}

/** Whether a certificate was in force at `at`: within its validity, and not yet revoked. */
export function certificateValidAt(cert: { notBefore: Date; notAfter: Date; revokedAt?: Date | undefined }, at: Date): boolean {
  return !Number.isNaN(at.getTime()) && at >= cert.notBefore && at <= cert.notAfter && !(cert.revokedAt && cert.revokedAt <= at);
}

export interface VerifyOptions {
  /** Signing certificates by key id. */
  signerOf: (keyId: string) => SignerCertificate | undefined;
  now?: Date;
  /** How old issuedAt may be (ms). */
  maxAgeMs?: number;
  /** How far ahead of our clock issuedAt may be (ms). */
  maxSkewMs?: number;
}

/** At intake: a platform seals and submits at once. */
export const DEFAULT_MAX_AGE_MS = 5 * 60_000;
/**
 * For hops relayed out of the router's durable custody: a hop may wait there while a party is
 * down or a worker restarts, for as long as the workflow keeps retrying its delivery (3 days).
 */
export const RELAYED_MAX_AGE_MS = 3 * 24 * 3600_000;
export const DEFAULT_MAX_SKEW_MS = 30_000;

/**
 * The sender's part: a registered signing certificate of `header.from`, valid (and not revoked)
 * at issuedAt, whose key signed exactly these header bytes.
 */
export function verifySender(
  header: HopHeader,
  headerBytes: Uint8Array,
  signature: Uint8Array,
  signerOf: (keyId: string) => SignerCertificate | undefined,
): void {
  const signer = signerInForce(header, signerOf);
  // alg.sig names the algorithm; the certificate must be of that suite, or nothing it could sign verifies
  const { sender } = suitesOf(header.alg);
  if (signer.suite !== sender.name) {
    throw new DzlError('HOP_SIGNATURE_INVALID', `hop ${header.hopId} says alg.sig ${header.alg.sig}, but ${header.from}'s certificate ${header.senderKeyId} is of the ${signer.suite} suite`, {
      hopId: header.hopId,
    });
  }
  if (!sender.verify(signer.publicKey, headerBytes, signature)) {
    throw new DzlError('HOP_SIGNATURE_INVALID', `signature of hop ${header.hopId} does not verify against ${header.from}'s certificate`, {
      hopId: header.hopId,
    });
  }
}

/**
 * The sender's certificate as `signerOf` knows it: registered, of `header.from`, valid and not
 * revoked at issuedAt (custody asks this again of a hop verified against an older directory).
 */
export function signerInForce(header: HopHeader, signerOf: (keyId: string) => SignerCertificate | undefined): SignerCertificate {
  const signer = signerOf(header.senderKeyId);
  if (!signer) {
    throw new DzlError('HOP_SIGNER_UNKNOWN', 'header.senderKeyId names no registered certificate', {
      hopId: header.hopId,
    });
  }
  if (signer.partyId !== header.from) {
    throw new DzlError('HOP_SIGNER_MISMATCH', `key ${header.senderKeyId} belongs to ${signer.partyId}, not ${header.from}`, {
      hopId: header.hopId,
    });
  }
  if (!certificateValidAt(signer, new Date(header.issuedAt))) {
    throw new DzlError('HOP_CERTIFICATE_INVALID', `certificate ${header.senderKeyId} of ${header.from} was not valid at ${header.issuedAt}`, {
      hopId: header.hopId,
    });
  }
  return signer;
}

/**
 * Everything anyone on the path can check without the recipient's key: signer, signature,
 * freshness and that the ciphertext is the one the header names. Replay (the nonce) is the
 * caller's, because only it knows whether this is a new hop or a redelivery of a known one.
 */
export function verifyHop(input: unknown, opts: VerifyOptions): DecodedHop {
  const hop = decodeHop(input);
  const { header } = hop;
  verifySender(header, hop.headerBytes, hop.signature, opts.signerOf);
  const issuedAt = new Date(header.issuedAt);
  const now = opts.now ?? new Date();
  const age = now.getTime() - issuedAt.getTime();
  if (age > (opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS)) {
    throw new DzlError('HOP_EXPIRED', `hop ${header.hopId} was issued at ${header.issuedAt}, older than the ${(opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS) / 1000}s window; seal it again`, {
      hopId: header.hopId,
    });
  }
  if (-age > (opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS)) {
    throw new DzlError('HOP_FROM_FUTURE', `hop ${header.hopId} is issued in the future (${header.issuedAt}); check the sender's clock`, {
      hopId: header.hopId,
    });
  }
  if (ciphertextDigestOf(hop.sender, hop.wrappedKey, hop.iv, hop.ciphertext) !== header.ciphertextDigest) {
    throw new DzlError('HOP_CIPHERTEXT_TAMPERED', `ciphertext of hop ${header.hopId} does not match header.ciphertextDigest`, {
      hopId: header.hopId,
    });
  }
  return hop;
}

export interface RecipientIdentity {
  partyId: string;
  /** Encryption certificates' key ids this recipient holds keys for (old and new during rotation). */
  decryptionKeys: Map<string, PartyPrivateKey>;
}

export interface OpenedHop {
  header: HopHeader;
  fields: Fields;
  salt: Buffer;
}

/** Opens a verified hop for its recipient and checks every manifest digest against the values. */
export function openHop(hop: DecodedHop, me: RecipientIdentity): OpenedHop {
  const { header } = hop;
  const key = me.decryptionKeys.get(header.recipientKeyId);
  if (header.to !== me.partyId || !key) {
    throw new DzlError('HOP_NOT_FOR_RECIPIENT', `hop ${header.hopId} is addressed to ${header.to} (key ${header.recipientKeyId}), not to ${me.partyId}`, {
      hopId: header.hopId,
    });
  }
  // alg.wrap and alg.enc are the recipient's suite: the key of recipientKeyId must be of it
  const contentKey = hop.recipient.owns(key) ? hop.recipient.unwrapKey(key, hop.wrappedKey) : undefined;
  if (!contentKey) {
    throw new DzlError('HOP_NOT_FOR_RECIPIENT', `the content key of hop ${header.hopId} was not wrapped (${header.alg.wrap}) for ${me.partyId}'s key`, {
      hopId: header.hopId,
    });
  }
  const body = hop.recipient.openBody(contentKey, hop.iv, aadOf(header), hop.ciphertext);
  if (!body) {
    throw new DzlError('HOP_CIPHERTEXT_TAMPERED', `hop ${header.hopId} failed ${header.alg.enc} authentication`, { hopId: header.hopId });
  }
  const parsed = parseCanonical(body) as { salt?: unknown; fields?: unknown } | undefined;
  const salt = fromB64url(parsed?.salt);
  if (!parsed || !salt || salt.length !== SALT_BYTES || typeof parsed.fields !== 'object' || parsed.fields === null || Array.isArray(parsed.fields)) {
    throw new DzlError('HOP_MALFORMED', `body of hop ${header.hopId} is not {salt, fields} canonical JSON`, { hopId: header.hopId });
  }
  const fields = parsed.fields as Fields;
  const names = Object.keys(fields).sort();
  const manifestNames = header.manifest.map((m) => m.field).sort();
  if (names.join('\n') !== manifestNames.join('\n')) {
    throw new DzlError('HOP_MANIFEST_MISMATCH', `hop ${header.hopId} carries fields its manifest does not list, or lacks some it lists`, {
      hopId: header.hopId,
    });
  }
  for (const m of header.manifest) {
    if (fieldDigest(salt, m.field, fields[m.field] as FieldValue, hop.sender) !== m.digest) {
      throw new DzlError('HOP_MANIFEST_MISMATCH', `value of ${m.field} in hop ${header.hopId} does not match its manifest digest`, {
        hopId: header.hopId,
        field: m.field,
      });
    }
  }
  return { header, fields, salt };
}
