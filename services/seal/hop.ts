/**
 * The sealed hop (contracts/envelope.md is the byte-level specification).
 *
 *   header     RFC 8785 canonical JSON, signed by the sender (RSA-PSS SHA-256), forwarded as bytes
 *   wrappedKey a fresh AES-256 key wrapped for the recipient's encryption certificate (RSA-OAEP-256)
 *   iv, ciphertext  AES-256-GCM of the canonical body {salt, fields}, tag appended,
 *              AAD = canonical header without `ciphertextDigest`
 *
 * Everything here is node:crypto: it runs once per hop on the hot path.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  randomUUID,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { DzlError } from '../common/errors';
import { namespaced } from '../domain/ids';
import { FIELD_CLASSES, HOP_KINDS, MODELS, type DecisionStatus, type FieldClass, type HopKind, type Model } from '../domain/hops';
import { b64url, fromB64url, lengthPrefixed, sha256 } from './bytes';
import { canonicalJson, parseCanonical } from './canonical';

export const HOP_VERSION = 1;
export const ALGORITHMS = { sig: 'PS256', enc: 'A256GCM', wrap: 'RSA-OAEP-256', digest: 'HS256' } as const;

export type { FieldClass, HopKind, Model } from '../domain/hops';
export type FieldValue = string | number | boolean | null | FieldValue[] | { [key: string]: FieldValue };
export type Fields = Record<string, FieldValue>;

export interface ManifestEntry {
  field: string;
  class: FieldClass;
  /** HMAC-SHA256(salt, field ‖ 0x00 ‖ canonical(value)), base64url. */
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
  alg: typeof ALGORITHMS;
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

export interface SigningIdentity {
  partyId: string;
  keyId: string;
  privateKey: KeyObject;
}

export interface RecipientCertificate {
  partyId: string;
  keyId: string;
  publicKey: KeyObject;
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
const TAG_BYTES = 16;
const SALT_BYTES = 32;
const NONCE_BYTES = 16;

export function newSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

export function fieldDigest(salt: Uint8Array, field: string, value: FieldValue): string {
  return b64url(
    createHmac('sha256', salt)
      .update(Buffer.from(field, 'utf8'))
      .update(Buffer.from([0]))
      .update(canonicalJson(value))
      .digest(),
  );
}

export function headerDigestOf(headerBytes: Uint8Array): string {
  return b64url(sha256(headerBytes));
}

function ciphertextDigestOf(wrappedKey: Buffer, iv: Buffer, ciphertext: Buffer): string {
  return b64url(sha256(lengthPrefixed(wrappedKey, iv, ciphertext)));
}

function aadOf(header: Omit<HopHeader, 'ciphertextDigest'> | HopHeader): Buffer {
  const { ciphertextDigest: _omit, ...rest } = header as HopHeader;
  return canonicalJson(rest);
}

export function signBytes(identity: SigningIdentity, bytes: Uint8Array): Buffer {
  return sign('sha256', bytes, {
    key: identity.privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 32,
  });
}

export function verifyBytes(publicKey: KeyObject, bytes: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(
      'sha256',
      bytes,
      { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      signature,
    );
  } catch {
    return false;
  }
}

/** The manifest of a field set: name, class and salted digest per field; C3 is refused here. */
export function manifestOf(fields: Fields, salt: Buffer, classOf: (field: string) => FieldClass): ManifestEntry[] {
  return Object.keys(fields)
    .sort()
    .map((field) => {
      const cls = classOf(field);
      if (cls === 'C3') {
        throw new DzlError('FIELD_C3_REFUSED', `field ${field} is C3 (authentication data) and may never be sent`, { field });
      }
      return { field, class: cls, digest: fieldDigest(salt, field, fields[field] as FieldValue) };
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
    alg: ALGORITHMS,
    manifest,
    ...(req.outcome ? { outcome: req.outcome } : {}),
    ...(req.provenance ? { provenance: { name: req.provenance.name, version: req.provenance.version } } : {}),
  };
}

export function sealHop(sender: SigningIdentity, req: SealRequest): SealedResult {
  const unsigned = unsignedHeader(sender, req.to, req, manifestOf(req.fields, req.salt, req.classOf), randomBytes(NONCE_BYTES));
  const key = randomBytes(32);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aadOf(unsigned));
  const body = canonicalJson({ salt: b64url(req.salt), fields: req.fields });
  const ciphertext = Buffer.concat([cipher.update(body), cipher.final(), cipher.getAuthTag()]);
  const wrappedKey = publicEncrypt(
    { key: req.to.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    key,
  );
  const header: HopHeader = { ...unsigned, ciphertextDigest: ciphertextDigestOf(wrappedKey, iv, ciphertext) };
  const headerBytes = canonicalJson(header);
  const signature = signBytes(sender, headerBytes);
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
    headerDigest: headerDigestOf(headerBytes),
  };
}

/** The decoded parts of a hop whose structure is sound; nothing is verified yet. */
export interface DecodedHop {
  sealed: SealedHop;
  header: HopHeader;
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
const HEADER_MEMBERS = new Set([
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
    throw new DzlError('HOP_VERSION_UNSUPPORTED', `hop version ${String(h.v)} is not supported; use ${HOP_VERSION}`);
  }
  const alg = h.alg as Record<string, unknown> | undefined;
  if (
    !alg ||
    Object.keys(alg).length !== 4 ||
    (Object.keys(ALGORITHMS) as (keyof typeof ALGORITHMS)[]).some((k) => alg[k] !== ALGORITHMS[k])
  ) {
    throw new DzlError('HOP_ALGORITHM_UNSUPPORTED', `header.alg must be ${JSON.stringify(ALGORITHMS)}`);
  }
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
  return {
    sealed: raw as unknown as SealedHop,
    header,
    headerBytes: headerBytes!,
    headerDigest: headerDigestOf(headerBytes!),
    signature: signature!,
    wrappedKey: wrappedKey!,
    iv: iv!,
    ciphertext: ciphertext!,
  };
}

export interface SignerCertificate {
  partyId: string;
  keyId: string;
  publicKey: KeyObject;
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
  const signer = signerOf(header.senderKeyId);
  if (!signer) {
    throw new DzlError('HOP_SIGNER_UNKNOWN', `no certificate with key id ${header.senderKeyId} is registered`, {
      hopId: header.hopId,
    });
  }
  if (signer.partyId !== header.from) {
    throw new DzlError('HOP_SIGNER_MISMATCH', `key ${header.senderKeyId} belongs to ${signer.partyId}, not ${header.from}`, {
      hopId: header.hopId,
    });
  }
  const issuedAt = new Date(header.issuedAt);
  if (!certificateValidAt(signer, issuedAt)) {
    throw new DzlError('HOP_CERTIFICATE_INVALID', `certificate ${header.senderKeyId} of ${header.from} was not valid at ${header.issuedAt}`, {
      hopId: header.hopId,
    });
  }
  if (!verifyBytes(signer.publicKey, headerBytes, signature)) {
    throw new DzlError('HOP_SIGNATURE_INVALID', `signature of hop ${header.hopId} does not verify against ${header.from}'s certificate`, {
      hopId: header.hopId,
    });
  }
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
  if (ciphertextDigestOf(hop.wrappedKey, hop.iv, hop.ciphertext) !== header.ciphertextDigest) {
    throw new DzlError('HOP_CIPHERTEXT_TAMPERED', `ciphertext of hop ${header.hopId} does not match header.ciphertextDigest`, {
      hopId: header.hopId,
    });
  }
  return hop;
}

export interface RecipientIdentity {
  partyId: string;
  /** Encryption certificates' key ids this recipient holds keys for (old and new during rotation). */
  decryptionKeys: Map<string, KeyObject>;
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
  let contentKey: Buffer;
  try {
    contentKey = privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, hop.wrappedKey);
  } catch {
    throw new DzlError('HOP_NOT_FOR_RECIPIENT', `the content key of hop ${header.hopId} was not wrapped for ${me.partyId}'s key`, {
      hopId: header.hopId,
    });
  }
  let body: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', contentKey, hop.iv);
    decipher.setAAD(aadOf(header));
    decipher.setAuthTag(hop.ciphertext.subarray(hop.ciphertext.length - TAG_BYTES));
    body = Buffer.concat([decipher.update(hop.ciphertext.subarray(0, hop.ciphertext.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new DzlError('HOP_CIPHERTEXT_TAMPERED', `hop ${header.hopId} failed AES-GCM authentication`, { hopId: header.hopId });
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
    if (fieldDigest(salt, m.field, fields[m.field] as FieldValue) !== m.digest) {
      throw new DzlError('HOP_MANIFEST_MISMATCH', `value of ${m.field} in hop ${header.hopId} does not match its manifest digest`, {
        hopId: header.hopId,
        field: m.field,
      });
    }
  }
  return { header, fields, salt };
}
