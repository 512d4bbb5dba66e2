/**
 * The few DER structures the SM suite puts on the wire (an SM2 signature, an SM2 ciphertext),
 * read strictly: one encoding per value, so a signature or a wrapped key cannot be re-encoded
 * into a second byte string that still verifies. Buffers in and out, because it runs per hop;
 * certificates use node-forge's ASN.1 (services/pki/sm2.ts).
 */

export const TAG_INTEGER = 0x02;
export const TAG_OCTET_STRING = 0x04;
export const TAG_SEQUENCE = 0x30;

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function derTlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

/** A non-negative INTEGER in its minimal two's-complement form. */
export function derUnsignedInteger(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('derUnsignedInteger: negative value');
  let hex = value.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return derTlv(TAG_INTEGER, bytes);
}

export function derSequence(...parts: Uint8Array[]): Buffer {
  return derTlv(TAG_SEQUENCE, Buffer.concat(parts));
}

/**
 * The contents of one TLV at `offset` (with the expected tag, if given), and where it ends;
 * undefined for anything but the minimal definite-length form.
 */
function readTlv(bytes: Buffer, offset: number, tag?: number): { content: Buffer; end: number } | undefined {
  if (offset + 2 > bytes.length || (tag !== undefined && bytes[offset] !== tag) || (bytes[offset]! & 0x1f) === 0x1f) return undefined;
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // 0x80 is the indefinite form (BER only); more than 3 length bytes is never needed here
    if (count === 0 || count > 3 || start + count > bytes.length) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i]!;
    if (length < 0x80 || bytes[start] === 0) return undefined; // not minimal
    start += count;
  }
  const end = start + length;
  if (end > bytes.length) return undefined;
  return { content: bytes.subarray(start, end), end };
}

/** A positive-or-zero INTEGER's value, refusing leading zero bytes and negative numbers. */
function unsignedIntegerOf(content: Buffer): bigint | undefined {
  if (content.length === 0 || content[0]! & 0x80) return undefined;
  if (content.length > 1 && content[0] === 0 && !(content[1]! & 0x80)) return undefined;
  return BigInt('0x' + content.toString('hex'));
}

export type DerField = { integer: bigint } | { octets: Buffer };

/**
 * A SEQUENCE of exactly these primitive members (INTEGER or OCTET STRING, in order) and nothing
 * after it; undefined when the bytes are anything else.
 */
export function readDerSequence(bytes: Buffer, members: readonly ('integer' | 'octets')[]): DerField[] | undefined {
  const seq = readTlv(bytes, 0, TAG_SEQUENCE);
  if (!seq || seq.end !== bytes.length) return undefined;
  const out: DerField[] = [];
  let at = 0;
  for (const kind of members) {
    const tlv = readTlv(seq.content, at, kind === 'integer' ? TAG_INTEGER : TAG_OCTET_STRING);
    if (!tlv) return undefined;
    if (kind === 'integer') {
      const v = unsignedIntegerOf(tlv.content);
      if (v === undefined) return undefined;
      out.push({ integer: v });
    } else {
      out.push({ octets: tlv.content });
    }
    at = tlv.end;
  }
  return at === seq.content.length ? out : undefined;
}

/**
 * The complete encodings (tag, length and contents) of the members of the SEQUENCE that is
 * `bytes`: how a signature is checked over the exact TBSCertificate or CertificationRequestInfo
 * that was signed, never over a re-encoding of it.
 */
export function derSequenceMembers(bytes: Buffer): Buffer[] | undefined {
  const seq = readTlv(bytes, 0, TAG_SEQUENCE);
  if (!seq || seq.end !== bytes.length) return undefined;
  const members: Buffer[] = [];
  for (let at = 0; at < seq.content.length; ) {
    const tlv = readTlv(seq.content, at);
    if (!tlv) return undefined;
    members.push(seq.content.subarray(at, tlv.end));
    at = tlv.end;
  }
  return members;
}
