import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { b64url, lengthPrefixed } from '../../services/seal/bytes';
import { openHop, verifyHop } from '../../services/seal/hop';
import { SM2_CURVE } from '../../services/seal/suites/sm2';
import { ROOT, tempDir } from '../support/env';
import { DISTID, openssl, put } from '../support/openssl';
import { EXAMPLE_INPUT, scalarOf, smExample } from '../support/smExample';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const be32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex');

/** PKCS#8 of an SM2 scalar without its public key, so that openssl computes [d]G itself. */
function bareSm2Key(d: bigint): Buffer {
  return Buffer.concat([Buffer.from('3041020100301306072a8648ce3d020106082a811ccf5501822d0427302502010104 20'.replace(/\s/g, ''), 'hex'), be32(d)]);
}

function sm2PublicDer(point: Buffer): Buffer {
  return Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex'), point]);
}

/** The public point openssl derives from a bare private scalar. */
function opensslPoint(dir: string, name: string, d: bigint): Buffer {
  const pub = openssl(['pkey', '-inform', 'DER', '-in', put(dir, name, bareSm2Key(d)), '-pubout', '-outform', 'DER']);
  return pub.subarray(pub.length - 65);
}

describe('the worked example of envelope.md §22.9', () => {
  const ex = smExample();
  const x = EXAMPLE_INPUT;
  const envelope = readFileSync(join(ROOT, 'contracts', 'envelope.md'), 'utf8');
  const section = envelope.slice(envelope.indexOf('### 22.9 Worked example'));
  const flat = section.replace(/\s+/g, '');
  let dir: string;
  before(() => {
    dir = tempDir('sm-example');
  });

  it('prints what dzl computes', () => {
    const wrapped = hex(ex.wrappedKey);
    const sig = hex(ex.signature);
    const printed = {
      d_S: scalarOf(x.senderKey).toString(16),
      P_S: hex(ex.sender.publicKey.uncompressed()),
      Z_S: hex(ex.sender.publicKey.z()),
      d_R: scalarOf(x.recipientKey).toString(16),
      P_R: hex(ex.recipient.publicKey.uncompressed()),
      d_C: scalarOf(x.channelSigKey).toString(16),
      P_C: hex(ex.channel.publicKey.uncompressed()),
      k_wrap: scalarOf(x.wrapK).toString(16),
      k_sig: scalarOf(x.signatureK).toString(16),
      k_receipt: scalarOf(x.receiptK).toString(16),
      ...Object.fromEntries(ex.manifest.map((m) => [m.field, m.digest])),
      aad: ex.aad.toString('utf8'),
      body: ex.body.toString('utf8'),
      ctr: hex(ex.ciphertext.subarray(0, ex.ciphertext.length - 16)),
      tag: hex(ex.ciphertext.subarray(ex.ciphertext.length - 16)),
      x1: wrapped.slice(8, 72),
      y1: wrapped.slice(78, 142),
      c3: wrapped.slice(146, 210),
      c2: wrapped.slice(214),
      ciphertextDigest: ex.ciphertextDigest,
      headerBytes: ex.headerBytes.toString('utf8'),
      headerDigest: ex.headerDigest,
      e: hex(ex.e),
      r: sig.slice(10, 74),
      s: sig.slice(80),
      signature: ex.sealed.signature,
      wrappedKey: ex.sealed.wrappedKey,
      iv: ex.sealed.iv,
      ciphertext: ex.sealed.ciphertext,
      receipt: ex.receiptBytes.toString('utf8'),
      receiptR: hex(ex.receiptSignature).slice(8, 72),
      receiptS: hex(ex.receiptSignature).slice(76),
    };
    for (const [name, value] of Object.entries(printed)) assert.ok(flat.includes(value.replace(/\s+/g, '')), `${name} = ${value} is not printed in §22.9`);
    assert.equal(ex.aad.length, 865);
    assert.equal(ex.headerBytes.length, 930);
    assert.equal(ex.wrappedKey.length, 123);
    assert.ok(section.includes(`(${ex.headerBytes.length} bytes`) && section.includes(`(${ex.ciphertext.length} bytes`));
  });

  it('is a hop dzl verifies and opens', () => {
    const signer = { partyId: 'platform-guomi', keyId: x.senderKeyId, suite: 'SM' as const, publicKey: ex.sender.publicKey, notBefore: new Date(0), notAfter: new Date(8.64e15) };
    const hop = verifyHop(ex.sealed, { signerOf: (k) => (k === x.senderKeyId ? signer : undefined), now: new Date(x.issuedAt) });
    assert.equal(hop.headerDigest, ex.headerDigest);
    const opened = openHop(hop, { partyId: 'channel-guomi', decryptionKeys: new Map([[x.recipientKeyId, ex.recipient]]) });
    assert.deepEqual(opened.fields, x.fields);
  });

  it('is reproduced by openssl without fixing k: the points of d and k, both signatures, the unwrap, every digest, the CTR part', () => {
    // [d]G and [k]G by openssl from bare scalars
    assert.deepEqual(opensslPoint(dir, 's.der', scalarOf(x.senderKey)), ex.sender.publicKey.uncompressed());
    const c1 = opensslPoint(dir, 'kw.der', scalarOf(x.wrapK));
    assert.equal(hex(c1), '04' + hex(ex.wrappedKey).slice(8, 72) + hex(ex.wrappedKey).slice(78, 142), 'C1 = [k_wrap]G');
    const x1 = BigInt('0x' + hex(opensslPoint(dir, 'ks.der', scalarOf(x.signatureK))).slice(2, 66));
    // Z_S and e by openssl's SM3 from the curve constants, then r = (e + x1) mod n
    const c = SM2_CURVE;
    const z = openssl(['dgst', '-sm3', '-binary'], Buffer.concat([Buffer.from([0x00, 0x80]), Buffer.from('1234567812345678'), ...[c.a, c.b, c.gx, c.gy].map(be32), ex.sender.publicKey.uncompressed().subarray(1)]));
    const e = openssl(['dgst', '-sm3', '-binary'], Buffer.concat([z, ex.headerBytes]));
    assert.deepEqual(e, ex.e);
    assert.equal(((BigInt('0x' + hex(e)) + x1) % c.n).toString(16).padStart(64, '0'), hex(ex.signature).slice(10, 74), 'r = (e + x([k_sig]G)) mod n');
    // the signatures verify under the public keys alone
    const verify = (point: Buffer, message: Buffer, signature: Buffer, name: string) =>
      openssl(['pkeyutl', '-verify', '-pubin', '-keyform', 'DER', '-inkey', put(dir, `${name}.pub`, sm2PublicDer(point)), '-rawin', '-digest', 'sm3', '-pkeyopt', DISTID, '-in', put(dir, `${name}.msg`, message), '-sigfile', put(dir, `${name}.sig`, signature)]).toString();
    assert.match(verify(ex.sender.publicKey.uncompressed(), ex.headerBytes, ex.signature, 'header'), /Verified Successfully/);
    assert.match(verify(ex.channel.publicKey.uncompressed(), ex.receiptBytes, ex.receiptSignature, 'receipt'), /Verified Successfully/);
    // d_R unwraps K
    assert.deepEqual(openssl(['pkeyutl', '-decrypt', '-keyform', 'DER', '-inkey', put(dir, 'r.der', bareSm2Key(scalarOf(x.recipientKey))), '-in', put(dir, 'w.der', ex.wrappedKey)]), x.contentKey);
    // the digests
    for (const m of ex.manifest) {
      const input = Buffer.concat([Buffer.from(m.field), Buffer.from([0]), Buffer.from(JSON.stringify(x.fields[m.field]))]);
      const mac = openssl(['mac', '-binary', '-digest', 'SM3', '-macopt', `hexkey:${hex(x.salt)}`, '-in', put(dir, 'f', input), 'HMAC']);
      assert.equal(b64url(mac), m.digest, m.field);
    }
    const parts = lengthPrefixed(ex.wrappedKey, x.iv, ex.ciphertext);
    assert.equal(b64url(openssl(['dgst', '-sm3', '-binary'], parts)), ex.ciphertextDigest);
    assert.equal(b64url(openssl(['dgst', '-sm3', '-binary'], ex.headerBytes)), ex.headerDigest);
    // SM4-CTR from inc32(J0) gives the ciphertext before the tag
    const counter = hex(Buffer.concat([x.iv, Buffer.from([0, 0, 0, 2])]));
    assert.deepEqual(openssl(['enc', '-sm4-ctr', '-K', hex(x.contentKey), '-iv', counter], ex.body), ex.ciphertext.subarray(0, ex.body.length));
  });
});
