/**
 * The network's certificate authority, on node-forge: issuing and parsing certificates and
 * CSRs happens at onboarding, not per hop, so forge's pure-JS speed does not matter here.
 * Keys are generated with node:crypto (forge's RSA key generation takes seconds).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

import { PARTY_ROLES, type CertificateUsage, type PartyRole } from '../domain/parties';

export { PARTY_ROLES, type CertificateUsage, type PartyRole };


export const PARTY_URI_PREFIX = 'urn:dzl:party:';

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

function serialNumber(): string {
  // positive, 16 bytes: the leading 0x01..0x7f byte keeps the DER INTEGER positive.
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
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
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

export interface CsrSubject {
  partyId: string;
  role: PartyRole;
  legalName: string;
}

/** What a party sends to the CA: its public key and who it says it is, signed by the key. */
export function createCsr(subject: CsrSubject, keys: KeyPairPem): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  csr.setSubject(subjectAttributes(subject));
  csr.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

function subjectAttributes(s: CsrSubject): forge.pki.CertificateField[] {
  return [
    { name: 'commonName', value: s.partyId },
    // a UTF8String (forge encodes it); the default PrintableString cannot hold a Chinese legal name
    { name: 'organizationName', value: s.legalName, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class },
    { name: 'organizationalUnitName', value: s.role },
  ];
}

function attr(csr: ReturnType<typeof forge.pki.certificationRequestFromPem>, name: string): string | undefined {
  const v = csr.subject.getField(name)?.value;
  return typeof v === 'string' ? v : undefined;
}

export interface IssueOptions {
  validFrom: Date;
  validUntil: Date;
  /** For tls certificates: the names the party's servers answer on. */
  dnsNames?: string[];
  ipAddresses?: string[];
}

/**
 * Issues a party certificate from its CSR after checking the CSR's own signature (proof that
 * the requester holds the key) and that the requested identity is well formed.
 */
/** The CA, not the requester, decides the profile (`usage`) a certificate is issued under. */
export function issueFromCsr(ca: CaMaterial, csrPem: string, usage: CertificateUsage, opts: IssueOptions): string {
  const csr = forge.pki.certificationRequestFromPem(csrPem);
  let proven = false;
  try {
    proven = csr.verify();
  } catch {
    proven = false; // forge throws on a malformed signature block instead of returning false
  }
  if (!proven) throw new Error('CSR signature does not verify: the requester does not hold the key');
  const partyId = attr(csr, 'CN');
  const role = attr(csr, 'OU') as PartyRole | undefined;
  const legalName = attr(csr, 'O') && forge.util.decodeUtf8(attr(csr, 'O')!);
  if (!partyId || !/^[a-z0-9][a-z0-9-]{1,62}$/.test(partyId)) throw new Error('CSR commonName must be a party id');
  if (!role || !PARTY_ROLES.includes(role)) throw new Error('CSR organizationalUnitName must be a party role');
  if (!legalName) throw new Error('CSR organizationName must be the legal name');
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = csr.publicKey as forge.pki.rsa.PublicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = opts.validFrom;
  cert.validity.notAfter = opts.validUntil;
  // rebuilt from the checked values rather than copied, so nothing unvetted enters the subject
  cert.setSubject(subjectAttributes({ partyId, role, legalName }));
  cert.setIssuer(caCert.subject.attributes);
  const altNames: { type: number; value?: string; ip?: string }[] = [{ type: 6, value: PARTY_URI_PREFIX + partyId }];
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (usage === 'sig') extensions.push({ name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true });
  if (usage === 'enc') extensions.push({ name: 'keyUsage', keyEncipherment: true, critical: true });
  if (usage === 'tls') {
    extensions.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true });
    extensions.push({ name: 'extKeyUsage', serverAuth: true, clientAuth: true });
    for (const d of opts.dnsNames ?? []) altNames.push({ type: 2, value: d });
    for (const ip of opts.ipAddresses ?? []) altNames.push({ type: 7, ip });
  }
  extensions.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(extensions);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
