import { createPublicKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { b64url, sha256 } from '../seal/bytes';
import type { SuiteName } from '../seal/suites/registry';
import { PARTY_ROLES, PARTY_URI_PREFIX, type CertificateUsage, type PartyRole } from './ca';

export interface CertificateInfo {
  /** base64url SHA-256 of the DER certificate: the key id hops and receipts name. */
  keyId: string;
  partyId: string;
  role: PartyRole;
  legalName: string;
  usage: CertificateUsage;
  /** The suite of its key: what its party signs or is sealed for in. */
  suite: SuiteName;
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
  pem: string;
  publicKey: KeyObject;
  revokedAt?: Date;
}

/** The profile the CA issued under, read back from the key-usage extensions it set. */
function usageOf(cert: forge.pki.Certificate): CertificateUsage | undefined {
  const ku = cert.getExtension('keyUsage') as { digitalSignature?: boolean; keyEncipherment?: boolean } | undefined;
  const eku = cert.getExtension('extKeyUsage') as { serverAuth?: boolean } | undefined;
  if (eku?.serverAuth) return 'tls';
  if (ku?.digitalSignature && !ku.keyEncipherment) return 'sig';
  if (ku?.keyEncipherment && !ku.digitalSignature) return 'enc';
  return undefined;
}

/** The key id: SHA-256 of the certificate's DER exactly as issued (never a re-encoding). */
export function certificateFingerprint(pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END CERTIFICATE-----/.exec(pem);
  const body = m?.[1]?.replace(/\r?\n/g, '') ?? '';
  const der = Buffer.from(body, 'base64');
  if (!m || der.length === 0 || der.toString('base64') !== body) throw new Error('certificate PEM is not strict base64 DER');
  return b64url(sha256(der));
}

/**
 * Parses a party certificate and checks that the network CA issued it. Throws with a reason
 * a network operator can act on; callers map that to their own error code.
 */
export function parseCertificate(pem: string, caPem: string): CertificateInfo {
  const ca = forge.pki.certificateFromPem(caPem);
  const cert = forge.pki.certificateFromPem(pem);
  let issuedByCa = false;
  try {
    issuedByCa = ca.verify(cert);
  } catch {
    issuedByCa = false;
  }
  if (!issuedByCa) throw new Error('certificate is not issued by the network CA');
  const field = (name: string) => {
    const v = cert.subject.getField(name)?.value;
    return typeof v === 'string' ? v : '';
  };
  const partyId = field('CN');
  const role = field('OU') as PartyRole;
  const usage = usageOf(cert);
  const san = cert.getExtension('subjectAltName') as { altNames?: { type: number; value: string }[] } | undefined;
  const uri = san?.altNames?.find((a) => a.type === 6 && a.value.startsWith(PARTY_URI_PREFIX))?.value;
  if (uri !== PARTY_URI_PREFIX + partyId) throw new Error('certificate subjectAltName does not name its party');
  if (!PARTY_ROLES.includes(role)) throw new Error(`certificate role ${role} is unknown`);
  if (!usage) throw new Error('certificate key usage matches no dzl profile (sig, enc, tls)');
  return {
    keyId: certificateFingerprint(pem),
    partyId,
    role,
    legalName: forge.util.decodeUtf8(field('O')),
    usage,
    suite: 'RSA', // node-forge reads RSA keys only
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
    serialNumber: cert.serialNumber,
    pem,
    publicKey: createPublicKey(forge.pki.publicKeyToPem(cert.publicKey as forge.pki.rsa.PublicKey)),
  };
}
