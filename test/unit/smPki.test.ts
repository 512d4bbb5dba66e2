import { strict as assert } from 'node:assert';
import { createHash, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCsr, createNetworkCa, generateKeyPair, issueFromCsr } from '../../services/pki/ca';
import { certificateFingerprint, parseCertificate } from '../../services/pki/certificate';
import { privateKeyFromPem } from '../../services/pki/identity';
import { createSm2NetworkCa, sm2PrivateKeyFromPem } from '../../services/pki/sm2';
import { readNetworkFile } from '../../services/network/folder';
import { b64url } from '../../services/seal/bytes';
import { derSequenceMembers } from '../../services/seal/suites/der';
import { Sm2PrivateKey, Sm2PublicKey } from '../../services/seal/suites/sm2';
import { ensureNetwork, tempDir } from '../support/env';
import { DISTID, openssl, opensslSucceeds, put } from '../support/openssl';
import { smWorld, type SmWorld } from '../support/smParties';

const DAY = 24 * 3600_000;
const derOf = (pem: string) => Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');

describe('SM2 certificates from the network’s SM2 CA', () => {
  let w: SmWorld;
  let dir: string;
  const now = new Date();
  const later = new Date(now.getTime() + 30 * DAY);
  before(() => {
    w = smWorld();
    dir = tempDir('sm-pki');
  });

  it('issues sig, enc and tls certificates from an SM2 CSR that say their suite, party, role and profile', () => {
    const keys = generateKeyPair('SM');
    const csr = createCsr({ partyId: 'bank-guomi', role: 'bank', legalName: '国密示范银行' }, keys);
    for (const usage of ['sig', 'enc', 'tls'] as const) {
      const pem = issueFromCsr(w.smCa, csr, usage, { validFrom: now, validUntil: later, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
      const info = parseCertificate(pem, w.caPem);
      assert.equal(info.suite, 'SM');
      assert.equal(info.usage, usage);
      assert.equal(info.partyId, 'bank-guomi');
      assert.equal(info.role, 'bank');
      assert.equal(info.legalName, '国密示范银行');
      assert.ok(info.publicKey instanceof Sm2PublicKey);
      assert.ok((info.publicKey as Sm2PublicKey).equals(sm2PrivateKeyFromPem(keys.privateKeyPem).publicKey));
      // §16: the key id is SHA-256 of the DER as issued, for either suite
      assert.equal(info.keyId, b64url(createHash('sha256').update(derOf(pem)).digest()));
      assert.equal(info.keyId, certificateFingerprint(pem));
      assert.equal(info.notAfter.toISOString().slice(0, 19), later.toISOString().slice(0, 19));
    }
  });

  it('parses both suites’ certificates against the bundle of both roots, each only against its own root', () => {
    const rsaPem = readNetworkFile(ensureNetwork()).parties.find((p) => p.id === 'bank-hangzhou')!.certificates[0]!;
    const rsaCaPem = readNetworkFile(ensureNetwork()).caPem;
    const smPem = readFileSync(join(w.channel.dir, 'sig.crt'), 'utf8');
    const rsa = parseCertificate(rsaPem, w.caPem);
    assert.equal(rsa.suite, 'RSA');
    assert.ok(rsa.publicKey instanceof KeyObject);
    assert.equal(parseCertificate(smPem, w.caPem).suite, 'SM');
    assert.equal(parseCertificate(smPem, w.smCa.certPem + rsaCaPem).suite, 'SM', 'in either order');
    assert.throws(() => parseCertificate(smPem, rsaCaPem), /not issued by the network CA/);
    assert.throws(() => parseCertificate(rsaPem, w.smCa.certPem), /not issued by the network CA/);
  });

  it('the directory hands out certificates that carry their suite', () => {
    assert.equal(w.directory.encryptionCertificate(w.channel.partyId).suite, 'SM');
    assert.equal(w.directory.encryptionCertificate(w.rsa.channel.partyId).suite, 'RSA');
    assert.equal(w.directory.signerOf(w.router.signing.keyId)?.suite, 'SM');
    assert.equal(w.directory.signerOf(w.rsa.platform.signing.keyId)?.suite, 'RSA');
  });

  it('refuses a certificate from a rogue SM2 CA of the same name, and one changed after signing', () => {
    const rogue = createSm2NetworkCa(readNetworkFile(ensureNetwork()).network, now, later);
    const csr = createCsr({ partyId: 'channel-guomi', role: 'channel', legalName: 'x' }, generateKeyPair('SM'));
    assert.throws(() => parseCertificate(issueFromCsr(rogue, csr, 'sig', { validFrom: now, validUntil: later }), w.caPem), /not issued by the network CA/);
    const der = derOf(issueFromCsr(w.smCa, csr, 'sig', { validFrom: now, validUntil: later }));
    const at = der.indexOf(Buffer.from('channel-guomi')); // in the subject: the TBSCertificate the CA signed
    der[at] ^= 1;
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    assert.throws(() => parseCertificate(pem, w.caPem), /not issued by the network CA/);
  });

  it('refuses a CSR whose signature is not by its key, and a CSR sent to the other suite’s CA', () => {
    const csr = createCsr({ partyId: 'bank-x', role: 'bank', legalName: 'x' }, generateKeyPair('SM'));
    const der = derOf(csr);
    der[der.length - 3] ^= 1; // inside the signature's s
    const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => issueFromCsr(w.smCa, forged, 'sig', { validFrom: now, validUntil: later }), /does not hold the key/);
    const rsaCa = createNetworkCa('x', now, later);
    assert.throws(() => issueFromCsr(rsaCa, csr, 'sig', { validFrom: now, validUntil: later }), /RSA CA certifies RSA keys only/);
    assert.throws(() => issueFromCsr(w.smCa, createCsr({ partyId: 'bank-x', role: 'bank', legalName: 'x' }, generateKeyPair('RSA')), 'sig', { validFrom: now, validUntil: later }), /SM2 CA certifies SM2 keys only/);
  });

  it('loads key files of either suite; the key’s type says its suite', () => {
    const sm = privateKeyFromPem(readFileSync(join(w.channel.dir, 'sig.key'), 'utf8'));
    assert.ok(sm instanceof Sm2PrivateKey);
    const rsa = privateKeyFromPem(readFileSync(join(ensureNetwork(), 'parties', 'bank-hangzhou', 'sig.key'), 'utf8'));
    assert.ok(rsa instanceof KeyObject && rsa.asymmetricKeyType === 'rsa');
  });

  describe('with openssl', () => {
    it('openssl verify accepts the SM2 CA’s sig, enc and tls certificates (SM2-with-SM3, the default id)', () => {
      const keys = generateKeyPair('SM');
      const csr = createCsr({ partyId: 'platform-guomi', role: 'platform', legalName: '国密助贷科技（示例）' }, keys);
      const ca = put(dir, 'sm-ca.crt', w.smCa.certPem);
      for (const usage of ['sig', 'enc', 'tls'] as const) {
        const cert = put(dir, `${usage}.crt`, issueFromCsr(w.smCa, csr, usage, { validFrom: now, validUntil: later, dnsNames: ['localhost'] }));
        assert.equal(openssl(['verify', '-vfyopt', DISTID, '-CAfile', ca, cert]).toString().trim(), `${cert}: OK`);
        const text = openssl(['x509', '-in', cert, '-noout', '-text']).toString();
        assert.match(text, /Signature Algorithm: SM2-with-SM3/);
        assert.match(text, /ASN1 OID: SM2/);
        assert.match(text, /URI:urn:dzl:party:platform-guomi/);
      }
      // the CA's self-signature, checked over its TBSCertificate with the CA's own key and the
      // default id (openssl verify -check_ss_sig would check the trusted copy, to which -vfyopt does not apply)
      const [tbs, , sigBits] = derSequenceMembers(derOf(w.smCa.certPem))!;
      assert.equal(sigBits![0], 0x03);
      const signature = sigBits!.subarray(3); // BIT STRING, short length, 0 unused bits
      const selfSigned = ['pkeyutl', '-verify', '-certin', '-inkey', ca, '-rawin', '-digest', 'sm3', '-pkeyopt', DISTID, '-in', put(dir, 'tbs.der', tbs!), '-sigfile', put(dir, 'tbs.sig', signature)];
      assert.match(openssl(selfSigned).toString(), /Signature Verified Successfully/);
      // and its profile: a CA for party certificates only
      assert.match(openssl(['x509', '-in', ca, '-noout', '-text']).toString(), /CA:TRUE, pathlen:0/);
      // openssl checks the dzl CSR's own signature, and reads the dzl PKCS#8 key
      assert.match(openssl(['req', '-verify', '-vfyopt', DISTID, '-noout', '-in', put(dir, 'p.csr', csr)]).toString() + 'ok', /ok/);
      const pub = openssl(['pkey', '-in', put(dir, 'p.key', keys.privateKeyPem), '-pubout']).toString();
      assert.equal(pub.replace(/\s/g, ''), keys.publicKeyPem.replace(/\s/g, ''));
    });

    it('openssl verify refuses a dzl SM2 certificate against a rogue CA, and without the default id', () => {
      const cert = put(dir, 'c.crt', readFileSync(join(w.channel.dir, 'sig.crt')));
      const rogue = put(dir, 'rogue.crt', createSm2NetworkCa('dzl-dev', now, later).certPem);
      assert.equal(opensslSucceeds(['verify', '-vfyopt', DISTID, '-CAfile', rogue, cert]), false);
      // OpenSSL 3.0 checks SM2 certificates with an empty id unless told: the id is part of the signature
      assert.equal(opensslSucceeds(['verify', '-CAfile', put(dir, 'ca.crt', w.smCa.certPem), cert]), false);
    });

    it('issues a certificate from a CSR openssl made (SM2 key, -sm3 -sigopt distid), which openssl then verifies', () => {
      const key = put(dir, 'o.key', openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2']));
      const csr = openssl(['req', '-new', '-key', key, '-sm3', '-sigopt', DISTID, '-utf8', '-subj', '/CN=bank-openssl/O=开源示范银行/OU=bank']).toString();
      const pem = issueFromCsr(w.smCa, csr, 'sig', { validFrom: now, validUntil: later });
      const info = parseCertificate(pem, w.caPem);
      assert.deepEqual([info.suite, info.partyId, info.role, info.legalName, info.usage], ['SM', 'bank-openssl', 'bank', '开源示范银行', 'sig']);
      assert.ok((info.publicKey as Sm2PublicKey).equals(sm2PrivateKeyFromPem(readFileSync(key, 'utf8')).publicKey), 'openssl’s PKCS#8 key is read');
      const cert = put(dir, 'o.crt', pem);
      assert.equal(openssl(['verify', '-vfyopt', DISTID, '-CAfile', put(dir, 'ca2.crt', w.smCa.certPem), cert]).toString().trim(), `${cert}: OK`);
      // a CSR openssl signed without the default id does not prove the key to dzl
      const noId = openssl(['req', '-new', '-key', key, '-sm3', '-subj', '/CN=bank-openssl/O=x/OU=bank']).toString();
      assert.throws(() => issueFromCsr(w.smCa, noId, 'sig', { validFrom: now, validUntil: later }), /does not hold the key/);
    });
  });
});
