import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DzlError } from '../../services/common/errors';
import { classOf } from '../../services/fields/catalogue';
import { certificateFingerprint, parseCertificate } from '../../services/pki/certificate';
import { issueFromCsr } from '../../services/pki/ca';
import { sm2PrivateKeyFromPem } from '../../services/pki/sm2';
import { NetworkDirectory } from '../../services/registry/directory';
import { b64url, fromB64url } from '../../services/seal/bytes';
import { newSalt, openHop, sealHop, signBytes, verifyHop, type SealedHop } from '../../services/seal/hop';
import { signReceipt, verifyReceipt } from '../../services/seal/receipt';
import type { Sm2PublicKey } from '../../services/seal/suites/sm2';
import { hmacSm3, sm3 } from '../../services/seal/suites/sm3';
import { sm4GcmSeal } from '../../services/seal/suites/sm4';
import { ROOT, tempDir } from '../support/env';
import { SAMPLE_FIELDS } from '../support/fixtures';
import { DISTID, openssl, opensslSucceeds, put } from '../support/openssl';
import { smWorld, type SmWorld } from '../support/smParties';

const SCRIPT = join(ROOT, 'test', 'interop', 'openssl-sm-hop.js');

function script(args: string[]): string {
  try {
    return execFileSync(process.execPath, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new Error(`openssl-sm-hop.js ${args[0]}: ${e.stderr?.toString().trim() ?? String(err)}`);
  }
}

describe('the SM suite against openssl (an implementation dzl did not write)', () => {
  let w: SmWorld;
  let dir: string;
  let sigCert: string;
  let sigKey: string;
  let encCert: string;
  let encKey: string;
  before(() => {
    w = smWorld();
    dir = tempDir('sm-openssl');
    sigCert = join(w.platform.dir, 'sig.crt');
    sigKey = join(w.platform.dir, 'sig.key');
    encCert = join(w.channel.dir, 'enc.crt');
    encKey = join(w.channel.dir, 'enc.key');
  });
  // the script's request holds the sample fields in plaintext: the integration suites scan the run's files for them
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('SM2 signatures: dzl signs, openssl verifies with the default id; openssl signs, dzl verifies', () => {
    const message = Buffer.from('{"alg":{"digest":"HMAC-SM3"},"v":1}');
    const dzlSig = put(dir, 'dzl.sig', signBytes(w.platform.signing, message));
    const verifyArgs = (sig: string, m: string) => ['pkeyutl', '-verify', '-certin', '-inkey', sigCert, '-rawin', '-digest', 'sm3', '-pkeyopt', DISTID, '-in', m, '-sigfile', sig];
    assert.match(openssl(verifyArgs(dzlSig, put(dir, 'm', message))).toString(), /Signature Verified Successfully/);
    assert.equal(opensslSucceeds(verifyArgs(dzlSig, put(dir, 'm2', Buffer.concat([message, Buffer.from(' ')])))), false);
    const opensslSig = openssl(['pkeyutl', '-sign', '-inkey', sigKey, '-rawin', '-digest', 'sm3', '-pkeyopt', DISTID, '-in', put(dir, 'm3', message)]);
    const pub = w.directory.signerOf(w.platform.signing.keyId)!.publicKey as Sm2PublicKey;
    assert.equal(pub.verify(message, opensslSig), true);
    // signed with OpenSSL's default (empty) id, as Node 20's crypto.sign does: not the standard's signature
    const emptyId = openssl(['pkeyutl', '-sign', '-inkey', sigKey, '-rawin', '-digest', 'sm3', '-in', put(dir, 'm4', message)]);
    assert.equal(pub.verify(message, emptyId), false);
  });

  it('SM2 key wrap: dzl encrypts, openssl decrypts; openssl encrypts, dzl decrypts (DER C1C3C2 both ways)', () => {
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const recipient = w.directory.encryptionCertificate(w.channel.partyId).publicKey as Sm2PublicKey;
    const wrapped = recipient.encrypt(key);
    assert.deepEqual(openssl(['pkeyutl', '-decrypt', '-inkey', encKey, '-in', put(dir, 'w.der', wrapped)]), key);
    const theirs = openssl(['pkeyutl', '-encrypt', '-certin', '-inkey', encCert, '-in', put(dir, 'k.bin', key)]);
    const mine = sm2PrivateKeyFromPem(readFileSync(encKey, 'utf8'));
    assert.deepEqual(mine.decrypt(theirs), key);
    // openssl's encoding of the ciphertext is the one dzl writes: SEQUENCE {INTEGER, INTEGER, OCTET STRING 32, OCTET STRING 16}
    const parsed = openssl(['asn1parse', '-inform', 'DER', '-in', put(dir, 't.der', theirs)]).toString();
    assert.match(parsed, /cons: SEQUENCE[\s\S]*prim: INTEGER[\s\S]*prim: INTEGER[\s\S]*l= {2}32 prim: OCTET STRING[\s\S]*l= {2}16 prim: OCTET STRING/);
  });

  it('SM3, HMAC-SM3 and SM4 agree with openssl dgst, mac and enc', () => {
    const data = Buffer.from('示例'.repeat(50));
    const salt = Buffer.alloc(32, 0x11);
    assert.deepEqual(openssl(['dgst', '-sm3', '-binary'], data), sm3(data));
    assert.deepEqual(openssl(['mac', '-binary', '-digest', 'SM3', '-macopt', `hexkey:${salt.toString('hex')}`, '-in', put(dir, 'd', data), 'HMAC']), hmacSm3(salt, data));
    // SM4-GCM = SM4-CTR from inc32(J0) plus GHASH: the CTR half, by openssl
    const key = Buffer.alloc(16, 3);
    const iv = Buffer.alloc(12, 4);
    const sealed = sm4GcmSeal(key, iv, Buffer.alloc(0), data);
    const counter = Buffer.concat([iv, Buffer.from([0, 0, 0, 2])]).toString('hex');
    assert.deepEqual(openssl(['enc', '-sm4-ctr', '-K', key.toString('hex'), '-iv', counter], data), sealed.subarray(0, data.length));
  });

  it('a hop dzl sealed under the SM suite is opened by a script that uses only openssl', () => {
    const s = sealHop(w.platform.signing, {
      applicationId: 'app_openssl_1',
      kind: 'application',
      model: 'data_channel',
      to: w.directory.encryptionCertificate(w.channel.partyId),
      platform: w.platform.partyId,
      channel: w.channel.partyId,
      consentRef: 'consent_openssl_1',
      fields: SAMPLE_FIELDS,
      salt: newSalt(),
      classOf,
    });
    const out = JSON.parse(script(['open', '--hop', put(dir, 'hop.json', JSON.stringify(s.sealed)), '--key', encKey, '--sender-cert', sigCert])) as { fields: unknown; headerDigest: string };
    assert.deepEqual(out.fields, SAMPLE_FIELDS);
    assert.equal(out.headerDigest, s.headerDigest);
    // and refuses one whose ciphertext changed after sealing
    const ct = fromB64url(s.sealed.ciphertext)!;
    ct[5] ^= 1;
    assert.throws(() => script(['open', '--hop', put(dir, 'bad.json', JSON.stringify({ ...s.sealed, ciphertext: b64url(ct) })), '--key', encKey, '--sender-cert', sigCert]), /ciphertextDigest does not match/);
  });

  it('a hop that script sealed with openssl, from a party whose CSR openssl made, is verified and opened by dzl', () => {
    // the openssl party: its own key and CSR; dzl's SM2 CA issues its sig certificate
    const key = put(dir, 'o.key', openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2']));
    const csr = openssl(['req', '-new', '-key', key, '-sm3', '-sigopt', DISTID, '-utf8', '-subj', '/CN=platform-openssl/O=开源助贷（示例）/OU=platform']).toString();
    const certPem = issueFromCsr(w.smCa, csr, 'sig', { validFrom: new Date(Date.now() - 60_000), validUntil: new Date(Date.now() + 86400_000) });
    const cert = put(dir, 'o.crt', certPem);
    const info = parseCertificate(certPem, w.caPem);
    const directory = new NetworkDirectory(w.caPem, [
      { id: 'platform-openssl', role: 'platform', legalName: info.legalName, certificates: [certPem] },
      { id: w.channel.partyId, role: 'channel', legalName: '国密征信（示例）', certificates: [readFileSync(join(w.channel.dir, 'sig.crt'), 'utf8'), readFileSync(encCert, 'utf8')] },
    ]);
    const request = {
      header: {
        v: 1,
        hopId: 'hop_openssl_1',
        applicationId: 'app_openssl_2',
        kind: 'application',
        model: 'data_channel',
        from: 'platform-openssl',
        to: w.channel.partyId,
        platform: 'platform-openssl',
        channel: w.channel.partyId,
        consentRef: 'consent_openssl_2',
        issuedAt: new Date().toISOString(),
      },
      fields: SAMPLE_FIELDS,
      classes: Object.fromEntries(Object.keys(SAMPLE_FIELDS).map((f) => [f, classOf(f)])),
      salt: b64url(newSalt()),
    };
    const sealed = JSON.parse(script(['seal', '--request', put(dir, 'req.json', JSON.stringify(request)), '--key', key, '--sender-cert', cert, '--recipient-cert', encCert])) as SealedHop;
    const hop = verifyHop(sealed, { signerOf: directory.signerOf });
    assert.equal(hop.header.senderKeyId, certificateFingerprint(certPem));
    assert.deepEqual(hop.header.alg, { digest: 'HMAC-SM3', enc: 'SM4-GCM', sig: 'SM2-SM3', wrap: 'SM2-ENC' });
    const opened = openHop(hop, w.channel.recipient);
    assert.deepEqual(opened.fields, SAMPLE_FIELDS);
    assert.equal(b64url(opened.salt), request.salt);
    // the channel's receipt names the digest the script would compute, and verifies
    const r = signReceipt(w.channel.signing, { hopId: hop.header.hopId, headerDigest: hop.headerDigest }, 'accepted');
    assert.equal(verifyReceipt(r, { hopId: hop.header.hopId, headerDigest: b64url(sm3(hop.headerBytes)), by: w.channel.partyId }, directory.signerOf).body.status, 'accepted');
    // and a changed signature is caught
    const forged = { ...sealed, signature: b64url(Buffer.from(fromB64url(sealed.signature)!.map((b, i) => (i === 10 ? b ^ 1 : b)))) };
    assert.throws(() => verifyHop(forged, { signerOf: directory.signerOf }), (e: unknown) => e instanceof DzlError && e.code === 'HOP_SIGNATURE_INVALID');
  });
});
