/**
 * SM2 (GB/T 32918.1–5-2016/2017, GM/T 0003-2012) on the recommended curve sm2p256v1, with the
 * encodings of GB/T 35276-2017 (GM/T 0009-2012): the default user id "1234567812345678", a
 * signature as DER SEQUENCE {r, s}, a ciphertext as DER SEQUENCE {x, y, C3, C2} (C1C3C2).
 *
 * The curve arithmetic is sm-crypto-v2's (on the audited @noble/curves): it signs with the
 * standard user id, which Node 20's OpenSSL does not (its SM2 signatures use an empty id and do
 * not interoperate), and node:crypto cannot SM2-encrypt at all. Z, e, the KDF and C3 are SM3 from
 * node:crypto; the DER is read strictly here (./der.ts), so a signature or a wrapped key has one
 * encoding only. Private scalars stay inside Sm2PrivateKey: signing and decryption are its methods.
 *
 * `k` parameters exist for the published examples of GM/T 0003.5 and the worked examples of
 * contracts/envelope.md, which fix the random number; callers on the hop path never pass one.
 */
import { timingSafeEqual } from 'node:crypto';
import { sm2 } from 'sm-crypto-v2';
import { derSequence, derTlv, derUnsignedInteger, readDerSequence, TAG_OCTET_STRING } from './der';
import { sm3, sm3Kdf } from './sm3';

type CurvePoint = ReturnType<typeof sm2.precomputePublicKey>;

/** The recommended curve parameters (GB/T 32918.5-2017 §3). */
export const SM2_CURVE = {
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
} as const;

/** GB/T 35276-2017 §10: the user id when none is agreed, 16 bytes, ENTL = 128 bits. */
export const SM2_DEFAULT_ID = Buffer.from('1234567812345678', 'ascii');

/**
 * How much of a public key's multiples to precompute on first use. Window 4 costs about as much
 * as two verifications without a table and makes each later verification and encryption about
 * six times faster; window 8 is a little faster again but costs as much as ~60 verifications,
 * which a directory refresh would pay again for every key.
 */
const PRECOMPUTE_WINDOW = 4;

const hex32 = (v: bigint): string => v.toString(16).padStart(64, '0');
const be32 = (v: bigint): Buffer => Buffer.from(hex32(v), 'hex');

function isCurvePoint(uncompressedHex: string): boolean {
  try {
    return sm2.verifyPublicKey(uncompressedHex);
  } catch {
    return false; // noble throws on coordinates off the curve
  }
}

function scalarInRange(k: bigint, max: bigint): boolean {
  return k >= 1n && k <= max;
}

export class Sm2PublicKey {
  readonly algorithm = 'sm2' as const;
  private zDefault?: Buffer;
  private table?: CurvePoint;

  private constructor(private readonly encoded: Buffer) {}

  /** From 04 ‖ x ‖ y (65 bytes); undefined unless that is a point of the curve. */
  static fromUncompressed(bytes: Uint8Array): Sm2PublicKey | undefined {
    if (bytes.length !== 65 || bytes[0] !== 0x04) return undefined;
    const b = Buffer.from(bytes);
    return isCurvePoint(b.toString('hex')) ? new Sm2PublicKey(b) : undefined;
  }

  /** 04 ‖ x ‖ y, 65 bytes: the subjectPublicKey of its certificate. */
  uncompressed(): Buffer {
    return Buffer.from(this.encoded);
  }

  /** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) of GB/T 32918.2 §5.5. */
  z(id: Uint8Array = SM2_DEFAULT_ID): Buffer {
    const isDefault = Buffer.from(id).equals(SM2_DEFAULT_ID);
    if (isDefault && this.zDefault) return this.zDefault;
    const bits = id.length * 8;
    if (bits > 0xffff) throw new RangeError('SM2 user id longer than 8191 bytes');
    const c = SM2_CURVE;
    const z = sm3(Buffer.from([bits >> 8, bits & 0xff]), id, be32(c.a), be32(c.b), be32(c.gx), be32(c.gy), this.encoded.subarray(1));
    if (isDefault) this.zDefault = z;
    return z;
  }

  /** GB/T 32918.2 §7: DER SEQUENCE {r, s} over SM3(Z ‖ message), r and s in [1, n−1]. */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    const f = readDerSequence(Buffer.from(signature), ['integer', 'integer']);
    if (!f) return false;
    const [r, s] = f.map((x) => ('integer' in x ? x.integer : -1n)) as [bigint, bigint];
    if (!scalarInRange(r, SM2_CURVE.n - 1n) || !scalarInRange(s, SM2_CURVE.n - 1n)) return false;
    const e = sm3(this.z(), message);
    try {
      return sm2.doVerifySignature(e, hex32(r) + hex32(s), this.point(), { hash: false, der: false });
    } catch {
      return false;
    }
  }

  /**
   * GB/T 32918.4 §6.1, output as GB/T 35276 §7.2 SM2Cipher: DER SEQUENCE {INTEGER x1, INTEGER y1,
   * OCTET STRING C3 (32 bytes), OCTET STRING C2 (as long as the plaintext)}.
   */
  encrypt(plaintext: Uint8Array, k?: bigint): Buffer {
    if (plaintext.length === 0) throw new RangeError('SM2 encryption of an empty message');
    if (k !== undefined && !scalarInRange(k, SM2_CURVE.n - 1n)) throw new RangeError('SM2 k out of range');
    for (;;) {
      const kp = k === undefined ? sm2.generateKeyPairHex() : { privateKey: hex32(k), publicKey: sm2.getPublicKeyFromPrivateKey(hex32(k)) };
      const c1 = Buffer.from(kp.publicKey, 'hex');
      const shared = this.point().multiply(BigInt('0x' + kp.privateKey)).toAffine();
      const x2 = be32(shared.x);
      const y2 = be32(shared.y);
      const t = sm3Kdf(Buffer.concat([x2, y2]), plaintext.length);
      if (t.some((byte) => byte !== 0)) {
        const c2 = Buffer.from(plaintext.map((byte, i) => byte ^ t[i]!));
        const c3 = sm3(x2, plaintext, y2);
        return derSequence(
          derUnsignedInteger(BigInt('0x' + c1.subarray(1, 33).toString('hex'))),
          derUnsignedInteger(BigInt('0x' + c1.subarray(33).toString('hex'))),
          derTlv(TAG_OCTET_STRING, c3),
          derTlv(TAG_OCTET_STRING, c2),
        );
      }
      // §6.1 A5: an all-zero key stream means another k (probability 2^-8·len)
      if (k !== undefined) throw new RangeError('SM2 k gives an all-zero key stream');
    }
  }

  equals(other: Sm2PublicKey): boolean {
    return this.encoded.equals(other.encoded);
  }

  /** The curve point with its precomputed multiples, built on first use. */
  private point(): CurvePoint {
    this.table ??= sm2.precomputePublicKey(this.encoded.toString('hex'), PRECOMPUTE_WINDOW);
    return this.table;
  }
}

export class Sm2PrivateKey {
  readonly algorithm = 'sm2' as const;

  private constructor(
    private readonly scalarHex: string,
    readonly publicKey: Sm2PublicKey,
  ) {}

  /** From the 32-byte scalar d; undefined unless 1 ≤ d ≤ n−2 (GB/T 32918.1 §6.1). */
  static fromScalar(bytes: Uint8Array): Sm2PrivateKey | undefined {
    if (bytes.length !== 32) return undefined;
    const hex = Buffer.from(bytes).toString('hex');
    if (!scalarInRange(BigInt('0x' + hex), SM2_CURVE.n - 2n)) return undefined;
    const publicKey = Sm2PublicKey.fromUncompressed(Buffer.from(sm2.getPublicKeyFromPrivateKey(hex), 'hex'));
    return publicKey ? new Sm2PrivateKey(hex, publicKey) : undefined;
  }

  static generate(): Sm2PrivateKey {
    for (;;) {
      const key = Sm2PrivateKey.fromScalar(Buffer.from(sm2.generateKeyPairHex().privateKey, 'hex'));
      if (key) return key; // d = n−1 has no signing inverse; drawn with probability 2^-256
    }
  }

  /** d as 32 bytes, for the key's PKCS#8 file. */
  scalar(): Buffer {
    return Buffer.from(this.scalarHex, 'hex');
  }

  /** GB/T 32918.2 §6 with e = SM3(Z ‖ message) and the default id; DER SEQUENCE {r, s}. */
  sign(message: Uint8Array, k?: bigint): Buffer {
    const e = sm3(this.publicKey.z(), message);
    let pointPool: { k: bigint; x1: bigint }[] | undefined;
    if (k !== undefined) {
      if (!scalarInRange(k, SM2_CURVE.n - 1n)) throw new RangeError('SM2 k out of range');
      pointPool = [{ k, x1: BigInt('0x' + sm2.getPublicKeyFromPrivateKey(hex32(k)).slice(2, 66)) }];
    }
    const rs = sm2.doSignature(e, this.scalarHex, { hash: false, der: false, ...(pointPool ? { pointPool } : {}) });
    return derSequence(derUnsignedInteger(BigInt('0x' + rs.slice(0, 64))), derUnsignedInteger(BigInt('0x' + rs.slice(64))));
  }

  /** GB/T 32918.4 §7.1 on an SM2Cipher; undefined for anything that does not decrypt and check. */
  decrypt(ciphertext: Uint8Array): Buffer | undefined {
    const f = readDerSequence(Buffer.from(ciphertext), ['integer', 'integer', 'octets', 'octets']);
    if (!f) return undefined;
    const [x1, y1] = f.slice(0, 2).map((x) => ('integer' in x ? x.integer : -1n)) as [bigint, bigint];
    const [c3, c2] = f.slice(2).map((x) => ('octets' in x ? x.octets : Buffer.alloc(0))) as [Buffer, Buffer];
    if (x1 >= SM2_CURVE.p || y1 >= SM2_CURVE.p || c3.length !== 32 || c2.length === 0) return undefined;
    // B1: C1 must be a point of the curve (the cofactor is 1, so that also makes h·C1 ≠ O)
    const c1Hex = '04' + hex32(x1) + hex32(y1);
    if (!isCurvePoint(c1Hex)) return undefined;
    const shared = Buffer.from(sm2.ecdh(this.scalarHex, c1Hex, false));
    const x2 = shared.subarray(1, 33);
    const y2 = shared.subarray(33, 65);
    const t = sm3Kdf(shared.subarray(1), c2.length);
    if (!t.some((byte) => byte !== 0)) return undefined;
    const m = Buffer.from(c2.map((byte, i) => byte ^ t[i]!));
    return timingSafeEqual(sm3(x2, m, y2), c3) ? m : undefined;
  }
}
