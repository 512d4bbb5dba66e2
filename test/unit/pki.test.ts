import { strict as assert } from 'node:assert';
import forge from 'node-forge';
import { createCsr, createNetworkCa, generateRsaKeyPair, issueFromCsr } from '../../services/pki/ca';
import { parseCertificate } from '../../services/pki/certificate';
import { readNetworkFile } from '../../services/network/folder';
import { signRequest, verifyRequest } from '../../services/seal/requestSignature';
import { ensureNetwork } from '../support/env';
import { parties } from '../support/fixtures';
import { DzlError } from '../../services/common/errors';

describe('PKI (node-forge CA)', () => {
  it('issues from a CSR a certificate that names its party, role and profile', () => {
    const file = readNetworkFile(ensureNetwork());
    const bank = file.parties.find((x) => x.id === 'bank-hangzhou')!;
    const infos = bank.certificates.map((pem) => parseCertificate(pem, file.caPem));
    assert.deepEqual(infos.map((i) => i.usage).sort(), ['enc', 'sig', 'tls']);
    for (const i of infos) {
      assert.equal(i.partyId, 'bank-hangzhou');
      assert.equal(i.role, 'bank');
      assert.equal(i.legalName, '杭州示范银行');
      assert.match(i.keyId, /^[A-Za-z0-9_-]{43}$/);
    }
  });

  // FOUND by the bundle fuzzer: node-forge ignores the outer signatureAlgorithm's parameters, so a
  // certificate whose NULL was re-tagged still verified, under another key id (SHA-256 of its DER).
  it('refuses a certificate whose outer, unsigned signatureAlgorithm is not its signed one, byte for byte', () => {
    const file = readNetworkFile(ensureNetwork());
    const pem = file.parties.find((x) => x.id === 'bank-hangzhou')!.certificates[0]!;
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const toPem = (d: Buffer) => `-----BEGIN CERTIFICATE-----\n${d.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
    // the outer AlgorithmIdentifier: sha256WithRSAEncryption's OID, then NULL (05 00), then the signature BIT STRING
    const at = der.lastIndexOf(Buffer.from('2a864886f70d01010b0500', 'hex')) + 9;
    assert.ok(at > 9 && der[at] === 0x05);
    parseCertificate(toPem(der), file.caPem);
    for (const tag of [0x00, 0x01, 0x52, 0xff]) {
      const edited = Buffer.from(der);
      edited[at] = tag;
      assert.throws(() => parseCertificate(toPem(edited), file.caPem), /strict DER|not DER/);
    }
  });

  it('refuses a certificate from another CA, and a CSR whose signature does not verify', () => {
    const now = new Date();
    const later = new Date(now.getTime() + 86400_000);
    const rogue = createNetworkCa('rogue', now, later);
    const keys = generateRsaKeyPair();
    const pem = issueFromCsr(rogue, createCsr({ partyId: 'bank-hangzhou', role: 'bank', legalName: 'x' }, keys), 'sig', { validFrom: now, validUntil: later });
    assert.throws(() => parseCertificate(pem, readNetworkFile(ensureNetwork()).caPem), /not issued by the network CA/);
    // a CSR whose signature is not by its key: the requester does not hold that key
    const csr = forge.pki.certificationRequestFromPem(createCsr({ partyId: 'bank-x', role: 'bank', legalName: 'x' }, keys));
    const sig = csr.signature as string;
    csr.signature = String.fromCharCode(sig.charCodeAt(0) ^ 1) + sig.slice(1);
    assert.throws(() => issueFromCsr(rogue, forge.pki.certificationRequestToPem(csr), 'sig', { validFrom: now, validUntil: later }), /does not hold the key/);
  });
});

describe('request signatures', () => {
  it('authenticate the sender and bind method, path and body', () => {
    const p = parties();
    const body = Buffer.from('{"a":1}');
    const auth = signRequest(p.platform.signing, 'POST', '/v1/applications', body);
    assert.equal(verifyRequest(auth, 'POST', '/v1/applications', body, p.directory.signerOf), 'platform-huixin');
    for (const [m, path, b] of [['GET', '/v1/applications', body], ['POST', '/v1/other', body], ['POST', '/v1/applications', Buffer.from('{"a":2}')]] as const) {
      assert.throws(() => verifyRequest(auth, m, path, b, p.directory.signerOf), (e: unknown) => e instanceof DzlError && e.code === 'REQUEST_UNAUTHENTICATED');
    }
    const old = signRequest(p.platform.signing, 'POST', '/x', body, new Date(Date.now() - 10 * 60_000));
    assert.throws(() => verifyRequest(old, 'POST', '/x', body, p.directory.signerOf), /outside the ±5 minute window/);
    assert.throws(() => verifyRequest(undefined, 'POST', '/x', body, p.directory.signerOf), /missing/);
  });

  it('accept only an RFC 3339 timestamp with its zone, whatever else Date.parse would read', () => {
    const p = parties();
    const body = Buffer.from('{}');
    const now = new Date();
    const good = signRequest(p.platform.signing, 'POST', '/x', body, now);
    const [scheme, rest] = [good.slice(0, good.indexOf(' ')), good.slice(good.indexOf(' ') + 1)];
    const params = new Map(rest.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const));
    const iso = now.toISOString();
    const offset = `${iso.slice(0, 19)}+08:00`;
    for (const ts of [iso.slice(0, 19), iso.slice(0, 10), now.toUTCString(), String(now.getTime()), `${iso.slice(0, 10)} ${iso.slice(11)}`, `${iso}x`]) {
      const forged = `${scheme} keyId=${params.get('keyId')},ts=${ts},sig=${params.get('sig')}`;
      assert.throws(() => verifyRequest(forged, 'POST', '/x', body, p.directory.signerOf), (e: unknown) => e instanceof DzlError && e.code === 'REQUEST_UNAUTHENTICATED' && /RFC 3339/.test(e.message), ts);
    }
    // an offset is a zone: parsed, then held to the window (this one is 8 h off) and the signature
    assert.throws(() => verifyRequest(`${scheme} keyId=${params.get('keyId')},ts=${offset},sig=${params.get('sig')}`, 'POST', '/x', body, p.directory.signerOf), /window|signature/);
  });
});
