/**
 * A receipt is the recipient's signed statement that it received (and accepted or rejected)
 * exactly the hop whose header digest it names. With the hop's manifest it proves which
 * fields that party saw. It is signed in the suite of the recipient's signing key (envelope.md
 * §13, §22), which need not be the suite of the hop it answers.
 */
import { DzlError, isErrorCode, type ErrorCode } from '../common/errors';
import { b64url, fromB64url } from './bytes';
import { canonicalJson, parseCanonical } from './canonical';
import { certificateValidAt, signBytes, verifyCertified, type SignerCertificate, type SigningIdentity } from './hop';

export interface ReceiptBody {
  v: 1;
  hopId: string;
  headerDigest: string;
  by: string;
  keyId: string;
  receivedAt: string;
  status: 'accepted' | 'rejected';
  reason?: ErrorCode | string;
}

export const RECEIPT_MEMBERS: ReadonlySet<string> = new Set(['v', 'hopId', 'headerDigest', 'by', 'keyId', 'receivedAt', 'status', 'reason']);

export interface SignedReceipt {
  receipt: string;
  signature: string;
}

export interface VerifiedReceipt {
  body: ReceiptBody;
  bytes: Buffer;
  signed: SignedReceipt;
}

export function signReceipt(
  signer: SigningIdentity,
  hop: { hopId: string; headerDigest: string },
  status: ReceiptBody['status'],
  reason?: string,
  now: Date = new Date(),
): SignedReceipt {
  const body: ReceiptBody = {
    v: 1,
    hopId: hop.hopId,
    headerDigest: hop.headerDigest,
    by: signer.partyId,
    keyId: signer.keyId,
    receivedAt: now.toISOString(),
    status,
    ...(reason ? { reason } : {}),
  };
  const bytes = canonicalJson(body);
  return { receipt: b64url(bytes), signature: b64url(signBytes(signer, bytes)) };
}

/**
 * Checks that the receipt is signed by `expectedBy` and names exactly this hop.
 * Throws RECEIPT_INVALID otherwise.
 */
export function verifyReceipt(
  input: unknown,
  expected: { hopId: string; headerDigest: string; by: string },
  signerOf: (keyId: string) => SignerCertificate | undefined,
): VerifiedReceipt {
  const raw = (input ?? {}) as Record<string, unknown>;
  const bytes = fromB64url(raw.receipt);
  const sig = fromB64url(raw.signature);
  const body = bytes ? (parseCanonical(bytes) as ReceiptBody | undefined) : undefined;
  const fail = (why: string) =>
    new DzlError('RECEIPT_INVALID', `receipt for hop ${expected.hopId} from ${expected.by}: ${why}`, { hopId: expected.hopId });
  if (!bytes || !sig || !body || typeof body !== 'object') throw fail('not a canonical signed receipt');
  if (body.v !== 1 || (body.status !== 'accepted' && body.status !== 'rejected')) throw fail('unsupported version or status');
  // before any member reaches String() or new Date(): an object with its own toString makes both throw
  if (typeof body.by !== 'string' || typeof body.keyId !== 'string' || typeof body.receivedAt !== 'string') throw fail('by, keyId and receivedAt must be strings');
  // the ledger keeps the receipt as signed: nothing in it may be free text a party wrote
  if (Object.keys(body).some((k) => !RECEIPT_MEMBERS.has(k))) throw fail('has members this version does not define');
  if (body.reason !== undefined && (body.status !== 'rejected' || typeof body.reason !== 'string' || !isErrorCode(body.reason))) throw fail('reason must be an error code of §19, on a rejected receipt only');
  if (body.hopId !== expected.hopId || body.headerDigest !== expected.headerDigest) throw fail('names another hop');
  if (body.by !== expected.by) throw fail('signed for another party');
  const cert = signerOf(body.keyId);
  if (!cert || cert.partyId !== expected.by) throw fail('signing key is not a certificate of the recipient');
  const at = new Date(body.receivedAt);
  if (!certificateValidAt(cert, at)) {
    throw fail('certificate not valid at receivedAt');
  }
  if (!verifyCertified(cert, bytes, sig)) throw fail('signature does not verify');
  return { body, bytes, signed: { receipt: raw.receipt as string, signature: raw.signature as string } };
}
