/**
 * The network's certificate authority, on node-forge: issuing and parsing certificates and
 * CSRs happens at onboarding, not per hop, so forge's pure-JS speed does not matter here.
 * Keys are generated with node:crypto (forge's RSA key generation takes seconds).
 *
 * Two roots, one operator: this RSA CA certifies RSA keys (SHA-256 with RSA), the SM2 CA of
 * ./sm2.ts certifies SM2 keys (SM2 with SM3). A certificate's signature is its issuer's key's,
 * so one CA cannot issue both suites' certificates in their own algorithms: an RSA CA over SM2
 * keys would leave an SM party's chain on RSA (which the commercial cryptography assessment of
 * an SM deployment does not accept), and an SM2 CA over RSA keys would leave RSA parties' usual
 * tools (Java, Go, node-forge, Node's X509Certificate) unable to check their own certificates.
 * issueFromCsr and createCsr pick the suite from the key; the trust roots are both CA
 * certificates in one PEM bundle (envelope.md §22.6).
 */
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

import { PARTY_ROLES, type CertificateUsage, type PartyRole } from '../domain/parties';
import type { SuiteName } from '../seal/suites/registry';
import { caExtensions, checkedCsrSubject, partyExtensions, serialNumber, subjectAttributes, type CsrSubject, type IssueOptions } from './profiles';
import { createSm2Csr, generateSm2KeyPair, isSm2Csr, isSm2KeyPem, issueSm2FromCsr } from './sm2';

export { PARTY_ROLES, type CertificateUsage, type PartyRole };
export { PARTY_URI_PREFIX, type CsrSubject, type IssueOptions } from './profiles';

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

export function generateRsaKeyPair(bits = 2048): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** A key pair of the suite's kind: RSA-2048 (PKCS#1 PEM) or SM2 (PKCS#8 PEM). */
export function generateKeyPair(suite: SuiteName): KeyPairPem {
  return suite === 'SM' ? generateSm2KeyPair() : generateRsaKeyPair();
}

export function createNetworkCa(networkName: string, validFrom: Date, validUntil: Date): CaMaterial {
  const keys = generateRsaKeyPair(3072);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = validFrom;
  cert.validity.notAfter = validUntil;
  const subject = [
    { name: 'commonName', value: `${networkName} Network CA` },
    { name: 'organizationName', value: networkName },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions(caExtensions());
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

/** What a party sends to the CA: its public key and who it says it is, signed by the key (RSA or SM2). */
export function createCsr(subject: CsrSubject, keys: KeyPairPem): string {
  if (isSm2KeyPem(keys.privateKeyPem)) return createSm2Csr(subject, keys);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  csr.setSubject(subjectAttributes(subject));
  csr.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

function attr(csr: ReturnType<typeof forge.pki.certificationRequestFromPem>, name: string): string | undefined {
  const v = csr.subject.getField(name)?.value;
  return typeof v === 'string' ? v : undefined;
}

/**
 * Issues a party certificate from its CSR after checking the CSR's own signature (proof that
 * the requester holds the key) and that the requested identity is well formed. The CA, not the
 * requester, decides the profile (`usage`). An SM2 CSR goes to the SM2 CA, an RSA one to the RSA
 * CA: `ca` must be the CA of the CSR's suite.
 */
export function issueFromCsr(ca: CaMaterial, csrPem: string, usage: CertificateUsage, opts: IssueOptions): string {
  const smCa = isSm2KeyPem(ca.keyPem);
  if (isSm2Csr(csrPem) !== smCa) {
    throw new Error(smCa ? 'the SM2 CA certifies SM2 keys only; an RSA key goes to the RSA CA' : 'the RSA CA certifies RSA keys only; an SM2 key goes to the SM2 CA');
  }
  if (smCa) return issueSm2FromCsr(ca, csrPem, usage, opts);
  const csr = forge.pki.certificationRequestFromPem(csrPem);
  let proven = false;
  try {
    proven = csr.verify();
  } catch {
    proven = false; // forge throws on a malformed signature block instead of returning false
  }
  if (!proven) throw new Error('CSR signature does not verify: the requester does not hold the key');
  const { partyId, role, legalName } = checkedCsrSubject((name) => attr(csr, name));
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = csr.publicKey as forge.pki.rsa.PublicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = opts.validFrom;
  cert.validity.notAfter = opts.validUntil;
  // rebuilt from the checked values rather than copied, so nothing unvetted enters the subject
  cert.setSubject(subjectAttributes({ partyId, role, legalName }));
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions(partyExtensions(usage, partyId, opts, { authority: Buffer.from(caCert.generateSubjectKeyIdentifier().getBytes(), 'binary') }));
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
