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
import { b64url, fromB64url } from '../seal/bytes';
import { canonicalJson } from '../seal/canonical';
import { certificateValidAt, verifyCertified, type SignerCertificate, type SigningIdentity } from '../seal/hop';
import { RSA_SUITE, suiteNamed, suiteOfKey, type CipherSuite } from '../seal/suites/registry';
import { checkNoticeBody, type NoticeBody } from './notice';

// The formats are declared once, in ./leaves.ts and ./notice.ts; re-exported for the modules that import them from here.
export type { ConsentStateLeaf, DeletionLeaf, NoticeLeaf } from './leaves';
export type { NoticeBody } from './notice';
export { NOTICE_KINDS, NOTICE_REASONS, type NoticeKind, type NoticeReason } from '../domain/notices';

export interface SignedNotice {
  notice: string;
  signature: string;
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
 * A party's check of a notice: canonical, exactly of the notice format, signed by a certificate of `expectedBy` (the router)
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
  // the one check of the format, the verifier's too (evidence/notice.ts)
  const checked = checkNoticeBody(bytes);
  if (!checked.ok) throw fail(checked.reason);
  const body = checked.body;
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
