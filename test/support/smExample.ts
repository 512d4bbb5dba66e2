/**
 * The worked example of contracts/envelope.md §22.9, computed from fixed keys and fixed random
 * numbers with dzl's own functions. test/unit/smExample.test.ts checks that every value printed
 * there is this, and that dzl verifies and opens the hop; `node dist/test/support/smExample.js`
 * prints it.
 */
import { b64url } from '../../services/seal/bytes';
import { canonicalJson } from '../../services/seal/canonical';
import { aadOf, ciphertextDigestOf, manifestOf, unsignedHeader, type Fields, type HopHeader, type SealedHop } from '../../services/seal/hop';
import { hopAlgorithms, SM_SUITE } from '../../services/seal/suites/registry';
import { SM2_CURVE, Sm2PrivateKey } from '../../services/seal/suites/sm2';
import { sm3 } from '../../services/seal/suites/sm3';
import { sm4GcmSeal } from '../../services/seal/suites/sm4';

/** A scalar from a label: SM3 of its UTF-8, as a number (all of these are below n − 1). */
export function scalarOf(label: string): bigint {
  const v = BigInt('0x' + sm3(Buffer.from(label, 'utf8')).toString('hex'));
  if (v < 1n || v > SM2_CURVE.n - 2n) throw new Error(`label ${label} gives no scalar`);
  return v;
}

const keyOf = (label: string) => Sm2PrivateKey.fromScalar(Buffer.from(scalarOf(label).toString(16).padStart(64, '0'), 'hex'))!;
const range = (from: number, n: number) => Buffer.from([...Array(n).keys()].map((i) => from + i));

export const EXAMPLE_INPUT = {
  senderKey: 'dzl example: platform-guomi sig key',
  recipientKey: 'dzl example: channel-guomi enc key',
  channelSigKey: 'dzl example: channel-guomi sig key',
  signatureK: 'dzl example: header signature k',
  wrapK: 'dzl example: key wrap k',
  receiptK: 'dzl example: receipt signature k',
  contentKey: range(0x00, 16),
  iv: range(0x10, 12),
  nonce: range(0x20, 16),
  salt: Buffer.alloc(32, 0x11),
  senderKeyId: 'Pl4tf0rmGu0m1S1gKeyId0000000000000000000000',
  recipientKeyId: 'Ch4nne1Gu0m1EncKeyId00000000000000000000000',
  channelKeyId: 'Ch4nne1Gu0m1S1gKeyId00000000000000000000000',
  fields: { 'customer.name': '示例', 'loan.amount': 5000000, 'kyc.elementsVerified': ['4', 'liveness'] } as Fields,
  classes: { 'customer.name': 'C2', 'loan.amount': 'C2', 'kyc.elementsVerified': 'C1' } as Record<string, 'C1' | 'C2'>,
  issuedAt: '2026-11-23T03:47:11.328Z',
  receivedAt: '2026-11-23T03:47:11.905Z',
} as const;

export function smExample() {
  const x = EXAMPLE_INPUT;
  const sender = keyOf(x.senderKey);
  const recipient = keyOf(x.recipientKey);
  const channel = keyOf(x.channelSigKey);
  const manifest = manifestOf(x.fields, x.salt, (f) => x.classes[f]!, SM_SUITE);
  const unsigned = unsignedHeader(
    { partyId: 'platform-guomi', keyId: x.senderKeyId },
    { partyId: 'channel-guomi', keyId: x.recipientKeyId },
    {
      hopId: 'hop_00000000-0000-4000-8000-000000000022',
      applicationId: 'app_00000000-0000-4000-8000-000000000022',
      kind: 'application',
      model: 'data_channel',
      platform: 'platform-guomi',
      channel: 'channel-guomi',
      consentRef: 'consent_example-22',
      now: new Date(x.issuedAt),
    },
    manifest,
    x.nonce,
    hopAlgorithms(SM_SUITE, SM_SUITE),
  );
  const aad = aadOf(unsigned);
  const body = canonicalJson({ salt: b64url(x.salt), fields: x.fields });
  const ciphertext = sm4GcmSeal(x.contentKey, x.iv, aad, body);
  const wrappedKey = recipient.publicKey.encrypt(x.contentKey, scalarOf(x.wrapK));
  const ciphertextDigest = ciphertextDigestOf(SM_SUITE, wrappedKey, x.iv, ciphertext);
  const header: HopHeader = { ...unsigned, ciphertextDigest };
  const headerBytes = canonicalJson(header);
  const signature = sender.sign(headerBytes, scalarOf(x.signatureK));
  const sealed: SealedHop = { header: b64url(headerBytes), signature: b64url(signature), wrappedKey: b64url(wrappedKey), iv: b64url(x.iv), ciphertext: b64url(ciphertext) };
  const headerDigest = b64url(sm3(headerBytes));
  const receiptBytes = canonicalJson({
    v: 1,
    hopId: header.hopId,
    headerDigest,
    by: 'channel-guomi',
    keyId: x.channelKeyId,
    receivedAt: x.receivedAt,
    status: 'accepted',
  });
  const receiptSignature = channel.sign(receiptBytes, scalarOf(x.receiptK));
  return {
    sender,
    recipient,
    channel,
    manifest,
    aad,
    body,
    ciphertext,
    wrappedKey,
    ciphertextDigest,
    header,
    headerBytes,
    headerDigest,
    e: sm3(sender.publicKey.z(), headerBytes),
    signature,
    sealed,
    receiptBytes,
    receiptSignature,
  };
}

if (require.main === module) {
  const ex = smExample();
  const x = EXAMPLE_INPUT;
  const h = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const lines: [string, string][] = [
    ['d_S', scalarOf(x.senderKey).toString(16).padStart(64, '0')],
    ['P_S', h(ex.sender.publicKey.uncompressed())],
    ['Z_S', h(ex.sender.publicKey.z())],
    ['d_R', scalarOf(x.recipientKey).toString(16).padStart(64, '0')],
    ['P_R', h(ex.recipient.publicKey.uncompressed())],
    ['d_C', scalarOf(x.channelSigKey).toString(16).padStart(64, '0')],
    ['P_C', h(ex.channel.publicKey.uncompressed())],
    ['k_wrap', scalarOf(x.wrapK).toString(16).padStart(64, '0')],
    ['k_sig', scalarOf(x.signatureK).toString(16).padStart(64, '0')],
    ['k_receipt', scalarOf(x.receiptK).toString(16).padStart(64, '0')],
    ...ex.manifest.map((m) => [`digest ${m.field}`, m.digest] as [string, string]),
    ['aad', ex.aad.toString('utf8')],
    ['body', ex.body.toString('utf8')],
    ['ciphertext‖tag', h(ex.ciphertext)],
    ['wrappedKey', h(ex.wrappedKey)],
    ['ciphertextDigest', ex.ciphertextDigest],
    ['headerBytes', ex.headerBytes.toString('utf8')],
    ['headerBytes length', String(ex.headerBytes.length)],
    ['headerDigest', ex.headerDigest],
    ['e', h(ex.e)],
    ['signature', h(ex.signature)],
    ['wire', JSON.stringify(ex.sealed)],
    ['receipt', ex.receiptBytes.toString('utf8')],
    ['receipt signature', h(ex.receiptSignature)],
    ['empty body SM3', b64url(sm3(Buffer.alloc(0)))],
  ];
  for (const [k, v] of lines) process.stdout.write(`${k}\n${v}\n\n`);
}
