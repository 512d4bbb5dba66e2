import { strict as assert } from 'node:assert';
import { constants, createDecipheriv, createHash, createHmac, privateDecrypt, KeyObject } from 'node:crypto';
import { sm4 } from 'sm-crypto-v2';
import { DzlError } from '../../services/common/errors';
import { noticeDigest, signNotice, verifyNotice } from '../../services/evidence/lifecycle';
import { classOf } from '../../services/fields/catalogue';
import { b64url, fromB64url, lengthPrefixed } from '../../services/seal/bytes';
import { canonicalJson } from '../../services/seal/canonical';
import { decodeHop, headerDigestOf, newSalt, openHop, sealHop, signBytes, verifyHop, type SealedHop, type SigningIdentity } from '../../services/seal/hop';
import { signReceipt, verifyReceipt } from '../../services/seal/receipt';
import { issueRedirectToken, readRedirectToken } from '../../services/seal/redirectToken';
import { signRequest, verifyRequest } from '../../services/seal/requestSignature';
import { derSequence, derUnsignedInteger } from '../../services/seal/suites/der';
import { SM2_CURVE, Sm2PrivateKey, Sm2PublicKey } from '../../services/seal/suites/sm2';
import { sm3 } from '../../services/seal/suites/sm3';
import { sm4GcmOpen, sm4GcmSeal } from '../../services/seal/suites/sm4';
import { SAMPLE_FIELDS } from '../support/fixtures';
import { smWorld, type SmWorld } from '../support/smParties';

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DzlError, `expected a DzlError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a refusal');
}

describe('the SM suite: published test vectors', () => {
  it('SM3 (GB/T 32905-2016 Appendix A): "abc" and the 64-byte "abcd"×16', () => {
    assert.deepEqual(sm3(Buffer.from('abc')), hex('66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0'));
    assert.deepEqual(sm3(Buffer.from('abcd'.repeat(16))), hex('debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732'));
  });

  it('SM4 (GB/T 32907-2016 Appendix A): one encryption, and 1,000,000 of them', function () {
    this.timeout(120_000);
    const key = hex('0123456789abcdeffedcba9876543210');
    const once = (block: Uint8Array) => sm4.encrypt(block, key, { padding: 'none', output: 'array' });
    assert.deepEqual(Buffer.from(once(key)), hex('681edf34d206965e86b3e94f536e4246'));
    let block: Uint8Array = key;
    for (let i = 0; i < 1_000_000; i++) block = once(block);
    assert.deepEqual(Buffer.from(block), hex('595298c7c6fd271f0402f804c33d3f66'));
  });

  it('SM4-GCM (RFC 8998 Appendix A.1), and a changed byte anywhere fails the tag', () => {
    const key = hex('0123456789ABCDEFFEDCBA9876543210');
    const iv = hex('00001234567800000000ABCD');
    const aad = hex('FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2');
    const plaintext = hex('AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA');
    const expected = hex(
      '17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D' +
        '83DE3541E4C2B58177E065A9BF7B62EC',
    );
    assert.deepEqual(sm4GcmSeal(key, iv, aad, plaintext), expected);
    assert.deepEqual(sm4GcmOpen(key, iv, aad, expected), plaintext);
    for (const at of [0, 40, expected.length - 1]) {
      const bad = Buffer.from(expected);
      bad[at] ^= 1;
      assert.equal(sm4GcmOpen(key, iv, aad, bad), undefined, `ciphertext byte ${at}`);
    }
    assert.equal(sm4GcmOpen(key, iv, Buffer.concat([aad, Buffer.from([0])]), expected), undefined, 'AAD');
    assert.equal(sm4GcmOpen(key, iv, aad, expected.subarray(0, 15)), undefined, 'shorter than its tag');
  });

  // GM/T 0003.5-2012 (GB/T 32918.5-2017) Appendix: the recommended curve, d, k and the messages
  const d = hex('3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8');
  const k = 0x59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21n;

  it('SM2 signature (GM/T 0003.5 A.2): the public key, Z, and (r, s) with the fixed k', () => {
    const key = Sm2PrivateKey.fromScalar(d)!;
    assert.deepEqual(
      key.publicKey.uncompressed(),
      hex('04 09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020 CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13'),
    );
    assert.deepEqual(key.publicKey.z(), hex('B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3'));
    const published = derSequence(
      derUnsignedInteger(0xf5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3n),
      derUnsignedInteger(0xb1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aan),
    );
    assert.deepEqual(key.sign(Buffer.from('message digest'), k), published);
    assert.equal(key.publicKey.verify(Buffer.from('message digest'), published), true);
    assert.equal(key.publicKey.verify(Buffer.from('message digesu'), published), false);
  });

  it('SM2 encryption (GM/T 0003.5 A.3): C1, C3, C2 with the fixed k, as DER C1C3C2, and back', () => {
    const key = Sm2PrivateKey.fromScalar(d)!;
    const published = hex(
      '307c' +
        '0220 04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73' +
        '022100 E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0' +
        '0420 59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766' +
        '0413 21886CA989CA9C7D58087307CA93092D651EFA',
    );
    assert.deepEqual(key.publicKey.encrypt(Buffer.from('encryption standard'), k), published);
    assert.equal(key.decrypt(published)?.toString(), 'encryption standard');
  });
});

describe('the SM suite: strict encodings', () => {
  const key = Sm2PrivateKey.generate();
  const message = Buffer.from('header bytes');
  const { n, p } = SM2_CURVE;

  it('refuses signatures that are not the one DER SEQUENCE {r, s} with r, s in [1, n−1]', () => {
    const sig = key.sign(message);
    assert.equal(key.publicKey.verify(message, sig), true);
    const [r, s] = readRs(sig);
    const int = (bytes: Buffer) => Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
    const seq = (...parts: Buffer[]) => Buffer.concat([Buffer.from([0x30, Buffer.concat(parts).length]), ...parts]);
    const padded = (v: bigint) => Buffer.concat([Buffer.from([0]), Buffer.from(v.toString(16).padStart(64, '0'), 'hex')]);
    const refusals: [string, Buffer][] = [
      ['raw r ‖ s', Buffer.from(r.toString(16).padStart(64, '0') + s.toString(16).padStart(64, '0'), 'hex')],
      ['a trailing byte', Buffer.concat([sig, Buffer.from([0])])],
      ['a needless leading zero', seq(int(Buffer.concat([Buffer.from([0]), padded(r)])), derUnsignedInteger(s))],
      ['s + n (the same s mod n)', derSequence(derUnsignedInteger(r), derUnsignedInteger(s + n))],
      ['r = 0', derSequence(derUnsignedInteger(0n), derUnsignedInteger(s))],
      ['a long-form length where the short form fits', Buffer.concat([Buffer.from([0x30, 0x81, sig[1]!]), sig.subarray(2)])],
    ];
    for (const [why, bad] of refusals) assert.equal(key.publicKey.verify(message, bad), false, why);
  });

  it('refuses wrapped keys whose C1 is off the curve, whose C3 or C2 changed, or that are not DER', () => {
    const wrapped = key.publicKey.encrypt(Buffer.alloc(16, 7));
    assert.deepEqual(key.decrypt(wrapped), Buffer.alloc(16, 7));
    for (const at of [6, wrapped.length - 20, wrapped.length - 1]) {
      const bad = Buffer.from(wrapped);
      bad[at] ^= 1;
      assert.equal(key.decrypt(bad), undefined, `byte ${at}`);
    }
    const offCurve = derSequence(derUnsignedInteger(1n), derUnsignedInteger(1n), wrapped.subarray(wrapped.length - 52));
    assert.equal(key.decrypt(offCurve), undefined, 'C1 = (1, 1)');
    const beyondP = derSequence(derUnsignedInteger(p + 1n), derUnsignedInteger(1n), wrapped.subarray(wrapped.length - 52));
    assert.equal(key.decrypt(beyondP), undefined, 'x ≥ p');
    assert.equal(key.decrypt(Buffer.concat([wrapped, Buffer.from([0])])), undefined, 'trailing byte');
    assert.equal(Sm2PrivateKey.generate().decrypt(wrapped), undefined, 'another key');
  });

  it('takes private keys in [1, n−2] and public keys on the curve only', () => {
    const be = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
    assert.equal(Sm2PrivateKey.fromScalar(be(0n)), undefined);
    assert.equal(Sm2PrivateKey.fromScalar(be(n - 1n)), undefined);
    assert.ok(Sm2PrivateKey.fromScalar(be(n - 2n)));
    const point = key.publicKey.uncompressed();
    point[64] ^= 1;
    assert.equal(Sm2PublicKey.fromUncompressed(point), undefined);
  });
});

function readRs(sig: Buffer): [bigint, bigint] {
  // DER SEQUENCE { INTEGER r, INTEGER s } with short lengths (always, for 256-bit r and s)
  const rLen = sig[3]!;
  const r = BigInt('0x' + sig.subarray(4, 4 + rLen).toString('hex'));
  const s = BigInt('0x' + sig.subarray(6 + rLen).toString('hex'));
  return [r, s];
}

describe('sealed hops under the SM suite', () => {
  let w: SmWorld;
  before(() => {
    w = smWorld();
  });
  const verify = (hop: unknown) => verifyHop(hop, { signerOf: w.directory.signerOf });
  const seal = (from: SigningIdentity, to: string, over: Record<string, unknown> = {}) =>
    sealHop(from, {
      applicationId: 'app_sm_1',
      kind: 'application',
      model: 'data_channel',
      to: w.directory.encryptionCertificate(to),
      platform: from.partyId,
      channel: to,
      consentRef: 'consent_sm_1',
      fields: SAMPLE_FIELDS,
      salt: newSalt(),
      classOf,
      ...over,
    });
  const headerOf = (sealed: SealedHop) => JSON.parse(fromB64url(sealed.header)!.toString('utf8')) as Record<string, unknown>;

  it('between SM parties: SM2-SM3, SM2-ENC, SM4-GCM, HMAC-SM3, and every digest is SM3', () => {
    const s = seal(w.platform.signing, w.channel.partyId);
    assert.deepEqual(s.header.alg, { digest: 'HMAC-SM3', enc: 'SM4-GCM', sig: 'SM2-SM3', wrap: 'SM2-ENC' });
    const opened = openHop(verify(s.sealed), w.channel.recipient);
    assert.deepEqual(opened.fields, SAMPLE_FIELDS);
    const parts = decodeHop(s.sealed);
    assert.equal(s.headerDigest, b64url(createHash('sm3').update(s.headerBytes).digest()));
    assert.equal(headerDigestOf(s.headerBytes), s.headerDigest);
    assert.equal(s.header.ciphertextDigest, b64url(createHash('sm3').update(lengthPrefixed(parts.wrappedKey, parts.iv, parts.ciphertext)).digest()));
    const entry = s.header.manifest.find((m) => m.field === 'customer.name')!;
    const expected = createHmac('sm3', opened.salt).update('customer.name').update(Buffer.from([0])).update(canonicalJson(SAMPLE_FIELDS['customer.name'])).digest();
    assert.equal(entry.digest, b64url(expected));
    assert.ok(parts.signature[0] === 0x30 && parts.signature.length <= 72, 'a DER SEQUENCE {r, s}');
    assert.equal(parts.wrappedKey[0], 0x30);
  });

  it('across suites: the sender signs and digests in its suite, the recipient is sealed for in its own', () => {
    const rsaToSm = seal(w.rsa.platform.signing, w.channel.partyId);
    assert.deepEqual(rsaToSm.header.alg, { digest: 'HS256', enc: 'SM4-GCM', sig: 'PS256', wrap: 'SM2-ENC' });
    assert.deepEqual(openHop(verify(rsaToSm.sealed), w.channel.recipient).fields, SAMPLE_FIELDS);
    assert.equal(rsaToSm.headerDigest, b64url(createHash('sha256').update(rsaToSm.headerBytes).digest()));
    const smToRsa = seal(w.platform.signing, w.rsa.channel.partyId);
    assert.deepEqual(smToRsa.header.alg, { digest: 'HMAC-SM3', enc: 'A256GCM', sig: 'SM2-SM3', wrap: 'RSA-OAEP-256' });
    assert.deepEqual(openHop(verify(smToRsa.sealed), w.rsa.channel.recipient).fields, SAMPLE_FIELDS);
  });

  it('between RSA parties keeps the bytes RSA hops always had', () => {
    const s = seal(w.rsa.platform.signing, w.rsa.channel.partyId);
    assert.deepEqual(s.header.alg, { digest: 'HS256', enc: 'A256GCM', sig: 'PS256', wrap: 'RSA-OAEP-256' });
    const parts = decodeHop(s.sealed);
    assert.equal(parts.signature.length, 256);
    assert.equal(s.headerDigest, b64url(createHash('sha256').update(s.headerBytes).digest()));
    assert.equal(s.header.ciphertextDigest, b64url(createHash('sha256').update(lengthPrefixed(parts.wrappedKey, parts.iv, parts.ciphertext)).digest()));
    // opened with node:crypto directly, as §7 says: RSA-OAEP-256 → 32-byte key → AES-256-GCM
    const rsaKey = [...w.rsa.channel.recipient.decryptionKeys.values()][0] as KeyObject;
    const key = privateDecrypt({ key: rsaKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, parts.wrappedKey);
    assert.equal(key.length, 32);
    const { ciphertextDigest: _d, ...aad } = s.header;
    const decipher = createDecipheriv('aes-256-gcm', key, parts.iv);
    decipher.setAAD(canonicalJson(aad));
    decipher.setAuthTag(parts.ciphertext.subarray(parts.ciphertext.length - 16));
    const body = Buffer.concat([decipher.update(parts.ciphertext.subarray(0, parts.ciphertext.length - 16)), decipher.final()]);
    assert.equal(JSON.parse(body.toString('utf8')).fields['customer.name'], SAMPLE_FIELDS['customer.name']);
    const opened = openHop(verify(s.sealed), w.rsa.channel.recipient);
    const entry = s.header.manifest.find((m) => m.field === 'customer.name')!;
    assert.equal(entry.digest, b64url(createHmac('sha256', opened.salt).update('customer.name').update(Buffer.from([0])).update(canonicalJson(SAMPLE_FIELDS['customer.name'])).digest()));
  });

  it('refuses tampering with the same codes as under RSA', () => {
    const s = seal(w.platform.signing, w.channel.partyId);
    const h = headerOf(s.sealed);
    h.to = 'channel-baihang';
    assert.equal(code(() => verify({ ...s.sealed, header: b64url(canonicalJson(h)) })), 'HOP_SIGNATURE_INVALID');
    for (const part of ['ciphertext', 'iv', 'wrappedKey'] as const) {
      const b = fromB64url(s.sealed[part])!;
      b[3] ^= 1;
      assert.equal(code(() => verify({ ...s.sealed, [part]: b64url(b) })), 'HOP_CIPHERTEXT_TAMPERED', part);
    }
    assert.equal(code(() => openHop(verify(s.sealed), w.bank.recipient)), 'HOP_NOT_FOR_RECIPIENT');
    assert.equal(code(() => openHop(verify(s.sealed), { partyId: w.channel.partyId, decryptionKeys: w.rsa.channel.recipient.decryptionKeys })), 'HOP_NOT_FOR_RECIPIENT');
  });

  /** The sender re-signs a header it altered: a sender lying about its algorithms. */
  function resigned(s: { sealed: SealedHop }, by: SigningIdentity, edit: (h: Record<string, unknown>) => void): SealedHop {
    const h = headerOf(s.sealed);
    edit(h);
    const bytes = canonicalJson(h);
    return { ...s.sealed, header: b64url(bytes), signature: b64url(signBytes(by, bytes)) };
  }

  it('refuses an alg that mixes suites within the sender or the recipient half (HOP_ALGORITHM_UNSUPPORTED)', () => {
    const s = seal(w.platform.signing, w.channel.partyId);
    for (const alg of [
      { digest: 'HS256', enc: 'SM4-GCM', sig: 'SM2-SM3', wrap: 'SM2-ENC' },
      { digest: 'HMAC-SM3', enc: 'A256GCM', sig: 'SM2-SM3', wrap: 'SM2-ENC' },
      { digest: 'HMAC-SM3', enc: 'SM4-GCM', sig: 'SM2-SM3', wrap: 'SM2-ENC', extra: 'x' },
      { digest: 'HMAC-SM3', enc: 'SM4-GCM', sig: 'SM2', wrap: 'SM2-ENC' },
    ]) {
      assert.equal(code(() => decodeHop(resigned(s, w.platform.signing, (h) => (h.alg = alg)))), 'HOP_ALGORITHM_UNSUPPORTED', JSON.stringify(alg));
    }
  });

  it('refuses a signature algorithm its signer’s certificate is not of, and a wrap its recipient key is not of', () => {
    const s = seal(w.platform.signing, w.channel.partyId);
    const claimsRsa = resigned(s, w.platform.signing, (h) => (h.alg = { digest: 'HS256', enc: 'SM4-GCM', sig: 'PS256', wrap: 'SM2-ENC' }));
    assert.equal(code(() => verify(claimsRsa)), 'HOP_SIGNATURE_INVALID');
    const claimsOaep = resigned(s, w.platform.signing, (h) => (h.alg = { digest: 'HMAC-SM3', enc: 'A256GCM', sig: 'SM2-SM3', wrap: 'RSA-OAEP-256' }));
    // the ciphertext digest no longer matches either; the recipient's own check names the key
    assert.equal(code(() => openHop(decodeHop(claimsOaep), w.channel.recipient)), 'HOP_NOT_FOR_RECIPIENT');
  });
});

describe('receipts, notices, request signatures and redirect tokens follow the signer’s suite', () => {
  let w: SmWorld;
  before(() => {
    w = smWorld();
  });

  it('an SM party’s receipt is SM2-signed and checked against its certificate', () => {
    const hop = { hopId: 'hop_sm_r', headerDigest: b64url(sm3(Buffer.from('h'))) };
    const r = signReceipt(w.channel.signing, hop, 'accepted');
    assert.equal(fromB64url(r.signature)![0], 0x30);
    assert.equal(verifyReceipt(r, { ...hop, by: w.channel.partyId }, w.directory.signerOf).body.status, 'accepted');
    const bad = fromB64url(r.signature)!;
    bad[10] ^= 1;
    assert.equal(code(() => verifyReceipt({ ...r, signature: b64url(bad) }, { ...hop, by: w.channel.partyId }, w.directory.signerOf)), 'RECEIPT_INVALID');
    // an RSA party's receipt of the same hop is RSA-PSS, checked the same way
    const rsa = signReceipt(w.rsa.bank.signing, hop, 'accepted');
    assert.equal(fromB64url(rsa.signature)!.length, 256);
    assert.equal(verifyReceipt(rsa, { ...hop, by: w.rsa.bank.partyId }, w.directory.signerOf).body.by, w.rsa.bank.partyId);
  });

  it('an SM router’s notice is SM2-signed and its digest is SM3; an RSA bank acknowledges it', () => {
    const { body, signed, digest } = signNotice(w.router.signing, { kind: 'consent_withdrawn', applicationId: 'app_sm_n', consentId: 'consent_sm_n', to: w.rsa.bank.partyId, hops: ['hop_a'], reason: 'CONSENT_WITHDRAWN' });
    const bytes = fromB64url(signed.notice)!;
    assert.equal(digest, b64url(createHash('sm3').update(bytes).digest()));
    assert.equal(noticeDigest(bytes), b64url(createHash('sha256').update(bytes).digest()), 'the default is the RSA suite');
    const checked = verifyNotice(signed, { by: 'router', to: w.rsa.bank.partyId }, w.directory.signerOf);
    assert.equal(checked.digest, digest);
    const ack = signReceipt(w.rsa.bank.signing, { hopId: body.noticeId, headerDigest: checked.digest }, 'accepted');
    assert.equal(verifyReceipt(ack, { hopId: body.noticeId, headerDigest: digest, by: w.rsa.bank.partyId }, w.directory.signerOf).body.status, 'accepted');
    const bad = fromB64url(signed.signature)!;
    bad[12] ^= 1;
    assert.throws(() => verifyNotice({ ...signed, signature: b64url(bad) }, { by: 'router', to: w.rsa.bank.partyId }, w.directory.signerOf), /signature does not verify/);
  });

  it('an SM party signs requests as DZL-SM2-SM3 over the SM3 of the body; the scheme must match its certificate', () => {
    const body = Buffer.from('{"a":1}');
    const auth = signRequest(w.platform.signing, 'POST', '/v1/applications', body);
    assert.match(auth, /^DZL-SM2-SM3 keyId=[A-Za-z0-9_-]{43},ts=[^,]+,sig=[A-Za-z0-9_-]+$/);
    assert.equal(verifyRequest(auth, 'POST', '/v1/applications', body, w.directory.signerOf), w.platform.partyId);
    const ts = /ts=([^,]+)/.exec(auth)![1]!;
    const signed = Buffer.from(`POST\n/v1/applications\n${ts}\n${b64url(sm3(body))}`);
    const sig = fromB64url(/sig=(.+)$/.exec(auth)![1])!;
    const cert = w.directory.signerOf(w.platform.signing.keyId)!;
    assert.equal((cert.publicKey as Sm2PublicKey).verify(signed, sig), true, 'signed bytes are §17’s with SM3');
    for (const [m, path, b] of [['GET', '/v1/applications', body], ['POST', '/v1/other', body], ['POST', '/v1/applications', Buffer.from('{"a":2}')]] as const) {
      assert.throws(() => verifyRequest(auth, m, path, b, w.directory.signerOf), (e: unknown) => e instanceof DzlError && e.code === 'REQUEST_UNAUTHENTICATED');
    }
    assert.throws(() => verifyRequest(auth.replace('DZL-SM2-SM3', 'DZL-PS256'), 'POST', '/v1/applications', body, w.directory.signerOf), /does not match the certificate/);
    const rsa = signRequest(w.rsa.platform.signing, 'POST', '/v1/applications', body);
    assert.match(rsa, /^DZL-PS256 /);
    assert.equal(verifyRequest(rsa, 'POST', '/v1/applications', body, w.directory.signerOf), w.rsa.platform.partyId);
  });

  it('an SM router’s redirect token is SM2-signed and read against its certificate', () => {
    const { token, claims } = issueRedirectToken(w.router.signing, 'app_sm_t', w.rsa.bank.partyId);
    assert.deepEqual(readRedirectToken(token, w.directory.signerOf), claims);
    const [c, s] = token.split('.');
    const bad = fromB64url(s)!;
    bad[20] ^= 1;
    assert.equal(code(() => readRedirectToken(`${c}.${b64url(bad)}`, w.directory.signerOf)), 'REDIRECT_TOKEN_INVALID');
  });
});
