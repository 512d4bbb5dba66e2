/**
 * The personal-data lifecycle as evidence: a consent's change of state, the router's signed
 * notices to parties that hold an application's data (consent withdrawn, delete the data), and
 * the router's erasure of the sealed payloads it carried. None of them holds a field value.
 *
 * A notice is acknowledged the way a hop is: the party signs a receipt (seal/receipt.ts) whose
 * `hopId` is the notice id and whose `headerDigest` is the base64url SHA-256 of the notice bytes.
 */
import { randomUUID } from 'node:crypto';
import { DzlError } from '../common/errors';
import type { NoticeKind, NoticeReason } from '../domain/notices';
import { b64url, fromB64url } from '../seal/bytes';
import { canonicalJson, parseCanonical } from '../seal/canonical';
import { certificateValidAt, verifyCertified, type SignerCertificate, type SigningIdentity } from '../seal/hop';
import { RSA_SUITE, suiteNamed, suiteOfKey, type CipherSuite } from '../seal/suites/registry';

/** A consent's change of state, appended to its history; a consent is granted when recorded. */
export interface ConsentStateLeaf {
  type: 'consent_state';
  recordedAt: string;
  consentId: string;
  state: 'withdrawn' | 'expired';
  /** The recipients the change applies to (separate consent per recipient); absent: all of them. */
  recipients?: string[];
  /** Who recorded it: the party that created the consent (withdrawal), or `router` (expiry). */
  by: string;
  /** When the customer acted (withdrawal) or the validity ended (expiry). */
  at: string;
  /** base64url SHA-256 of the customer's device identifier at withdrawal (as the party hashed it). */
  deviceDigest?: string;
}

export { NOTICE_KINDS, NOTICE_REASONS, type NoticeKind, type NoticeReason } from '../domain/notices';

/** What the router tells a party holding an application's data; signed by the router. */
export interface NoticeBody {
  v: 1;
  noticeId: string;
  kind: NoticeKind;
  applicationId: string;
  consentId: string;
  /** The party that must act: stop processing (consent_withdrawn) and delete (both kinds). */
  to: string;
  /** The application's hops this party received, whose data the notice concerns. */
  hops: string[];
  reason: NoticeReason;
  issuedAt: string;
  by: string;
  keyId: string;
}

export interface SignedNotice {
  notice: string;
  signature: string;
}

export interface NoticeLeaf {
  type: 'notice';
  recordedAt: string;
  notice: string;
  signature: string;
}

/** The router erased the sealed payloads (wrapped key, iv, ciphertext) of these hops; headers stay. */
export interface DeletionLeaf {
  type: 'deletion';
  recordedAt: string;
  applicationId: string;
  reason: NoticeReason;
  hops: string[];
}

/**
 * The hash of the suite of the router's certificate that signed it (`keyId`): SHA-256 for an RSA
 * router, SM3 for an SM one (envelope.md §21.2, §22). The default is the RSA suite's.
 */
export function noticeDigest(noticeBytes: Uint8Array, suite: CipherSuite = RSA_SUITE): string {
  return b64url(suite.hash(noticeBytes));
}

/** Signed in the suite of the router's signing key; `digest` is what its acknowledgement names. */
export function signNotice(router: SigningIdentity, n: Omit<NoticeBody, 'v' | 'noticeId' | 'issuedAt' | 'by' | 'keyId'> & { noticeId?: string; now?: Date }): { body: NoticeBody; signed: SignedNotice; digest: string } {
  const { now, noticeId, ...rest } = n;
  const body: NoticeBody = {
    v: 1,
    noticeId: noticeId ?? `ntc-${randomUUID()}`,
    ...rest,
    issuedAt: (now ?? new Date()).toISOString(),
    by: router.partyId,
    keyId: router.keyId,
  };
  const bytes = canonicalJson(body);
  const suite = suiteOfKey(router.privateKey);
  return { body, signed: { notice: b64url(bytes), signature: b64url(suite.sign(router.privateKey, bytes)) }, digest: noticeDigest(bytes, suite) };
}

/**
 * A party's check of a notice: canonical, signed by a certificate of `expectedBy` (the router)
 * valid when issued, addressed to `me`. Throws NOTICE_INVALID.
 */
export function verifyNotice(
  input: unknown,
  expected: { by: string; to: string },
  signerOf: (keyId: string) => SignerCertificate | undefined,
): { body: NoticeBody; bytes: Buffer; digest: string } {
  const raw = (input ?? {}) as Record<string, unknown>;
  const bytes = fromB64url(raw.notice);
  const sig = fromB64url(raw.signature);
  const fail = (why: string) => new DzlError('NOTICE_INVALID', `notice to ${expected.to}: ${why}`);
  if (!bytes || !sig) throw fail('not a signed notice {notice, signature} in base64url');
  let body: NoticeBody | undefined;
  try {
    body = parseCanonical(bytes) as NoticeBody | undefined;
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null) throw fail('notice bytes are not canonical JSON of an object');
  if (body.v !== 1) throw fail('unsupported notice version');
  if (body.kind !== 'consent_withdrawn' && body.kind !== 'delete_data') throw fail(`unknown notice kind ${String(body.kind)}`);
  if (!Array.isArray(body.hops) || typeof body.applicationId !== 'string' || typeof body.noticeId !== 'string') throw fail('missing members');
  if (body.to !== expected.to) throw fail(`addressed to ${String(body.to)}`);
  if (body.by !== expected.by) throw fail(`signed by ${String(body.by)}, not ${expected.by}`);
  const cert = signerOf(body.keyId);
  if (!cert || cert.partyId !== expected.by) throw fail('signing key is not a certificate of the router');
  const at = new Date(body.issuedAt);
  if (!certificateValidAt(cert, at)) {
    throw fail('certificate not valid at issuedAt');
  }
  if (!verifyCertified(cert, bytes, sig)) throw fail('signature does not verify');
  return { body, bytes, digest: noticeDigest(bytes, suiteNamed(cert.suite)) };
}
