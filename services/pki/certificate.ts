import { createPublicKey } from 'node:crypto';
import forge from 'node-forge';
import { b64url, sha256 } from '../seal/bytes';
import type { PartyPublicKey, SuiteName } from '../seal/suites/registry';
import { PARTY_ROLES, type CertificateUsage, type PartyRole } from './ca';
import { PARTY_URI_PREFIX, partyUriOf, usageOf, type ParsedExtension } from './profiles';
import { sm2AnchorOf, verifySm2Certificate, type Sm2Anchor } from './sm2';
import { certificateParts, fieldOf, isSignedSm2WithSm3, pemBlocks, type CertificateParts } from './x509';

export interface CertificateInfo {
  /** base64url SHA-256 of the DER certificate: the key id hops and receipts name. */
  keyId: string;
  partyId: string;
  role: PartyRole;
  legalName: string;
  usage: CertificateUsage;
  /** The suite of its key (rsaEncryption → RSA, id-ecPublicKey on sm2p256v1 → SM): what its party signs or is sealed for in. */
  suite: SuiteName;
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
  pem: string;
  publicKey: PartyPublicKey;
  revokedAt?: Date;
}

/** The key id: SHA-256 of the certificate's DER exactly as issued (never a re-encoding), whatever its suite. */
export function certificateFingerprint(pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END CERTIFICATE-----/.exec(pem);
  const body = m?.[1]?.replace(/\r?\n/g, '') ?? '';
  const der = Buffer.from(body, 'base64');
  if (!m || der.length === 0 || der.toString('base64') !== body) throw new Error('certificate PEM is not strict base64 DER');
  return b64url(sha256(der));
}

/**
 * The network's trust roots: the PEM of its CA certificate, or a bundle of its CA certificates
 * (the RSA root and the SM2 root, in any order). Each certifies the keys of its own suite.
 */
interface TrustRoots {
  rsa: forge.pki.Certificate[];
  sm2: Sm2Anchor[];
}

function trustRootsOf(caPem: string): TrustRoots {
  const roots: TrustRoots = { rsa: [], sm2: [] };
  for (const der of pemBlocks(caPem, 'CERTIFICATE')) {
    if (isSignedSm2WithSm3(der)) {
      let anchor: Sm2Anchor | undefined;
      try {
        anchor = sm2AnchorOf(certificateParts(der));
      } catch {
        anchor = undefined; // not a certificate: it anchors nothing
      }
      if (anchor) roots.sm2.push(anchor);
    } else {
      roots.rsa.push(forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString('binary'))));
    }
  }
  return roots;
}

/** What certificate.ts reads of any party certificate, whichever library parsed it. */
interface PartyFields {
  subject: (shortName: 'CN' | 'O' | 'OU') => string;
  extensions: readonly ParsedExtension[];
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
}

function rsaCertificate(pem: string, der: Buffer | undefined, roots: TrustRoots): { fields: PartyFields; publicKey: PartyPublicKey } {
  // forge reads the outer signatureAlgorithm loosely (its parameters are not signed): strict DER,
  // and the same algorithm inside and out, so one certificate has one encoding and one key id
  if (!der || certificateParts(der).signatureOid === undefined) throw new Error('certificate is not strict DER with one signature algorithm inside and out');
  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromPem(pem);
  } catch (err) {
    // forge reads RSA keys only; an SM2 key must come with the SM2 CA's SM2-with-SM3 signature
    if (err instanceof Error && /OID is not RSA/.test(err.message)) throw new Error('certificate key is not RSA, and its signature is not SM2-with-SM3: each network CA certifies keys of its own suite');
    throw err;
  }
  const issuedByCa = roots.rsa.some((ca) => {
    try {
      return ca.verify(cert);
    } catch {
      return false; // forge throws when the issuer is another CA's name
    }
  });
  if (!issuedByCa) throw new Error('certificate is not issued by the network CA');
  const field = (name: string) => {
    const v = cert.subject.getField(name)?.value;
    return typeof v === 'string' ? v : '';
  };
  return {
    fields: {
      subject: field,
      extensions: cert.extensions as ParsedExtension[],
      notBefore: cert.validity.notBefore,
      notAfter: cert.validity.notAfter,
      serialNumber: cert.serialNumber,
    },
    publicKey: createPublicKey(forge.pki.publicKeyToPem(cert.publicKey as forge.pki.rsa.PublicKey)),
  };
}

function sm2Certificate(parts: CertificateParts, roots: TrustRoots): { fields: PartyFields; publicKey: PartyPublicKey } {
  const publicKey = verifySm2Certificate(parts, roots.sm2);
  return {
    fields: {
      subject: (name) => fieldOf(parts.subject, name) ?? '',
      extensions: parts.extensions,
      notBefore: parts.notBefore,
      notAfter: parts.notAfter,
      serialNumber: parts.serialHex,
    },
    publicKey,
  };
}

/**
 * Parses a party certificate of either suite and checks that the network CA of its suite issued
 * it (`caPem`: one CA certificate or the bundle of both). Throws with a reason a network
 * operator can act on; callers map that to their own error code.
 */
export function parseCertificate(pem: string, caPem: string): CertificateInfo {
  const [der] = pemBlocks(pem, 'CERTIFICATE');
  // An SM2-with-SM3 signature is the SM2 CA's; anything else takes the RSA path, unchanged.
  const sm2Parts = der && isSignedSm2WithSm3(der) ? certificateParts(der) : undefined;
  // a key and its certificate's signature are of one suite: each CA certifies keys of its own
  if (sm2Parts && sm2Parts.keySuite !== 'SM') throw new Error('certificate of a key other than SM2 is signed SM2-with-SM3: each network CA certifies keys of its own suite');
  const roots = trustRootsOf(caPem);
  const suite: SuiteName = sm2Parts ? 'SM' : 'RSA';
  const { fields, publicKey } = sm2Parts ? sm2Certificate(sm2Parts, roots) : rsaCertificate(pem, der, roots);
  const partyId = fields.subject('CN');
  const role = fields.subject('OU') as PartyRole;
  const usage = usageOf(fields.extensions);
  if (partyUriOf(fields.extensions) !== PARTY_URI_PREFIX + partyId) throw new Error('certificate subjectAltName does not name its party');
  if (!PARTY_ROLES.includes(role)) throw new Error(`certificate role ${role} is unknown`);
  if (!usage) throw new Error('certificate key usage matches no dzl profile (sig, enc, tls)');
  return {
    keyId: certificateFingerprint(pem),
    partyId,
    role,
    legalName: forge.util.decodeUtf8(fields.subject('O')),
    usage,
    suite,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    serialNumber: fields.serialNumber,
    pem,
    publicKey,
  };
}

/**
 * The RSA roots of a network's trust bundle, as PEM: what mutual TLS trusts. An SM party's tls
 * certificate comes from the RSA CA (services/pki/sm2.ts says why); the SM2 root certifies hop keys only.
 */
export function tlsTrustRoots(caPem: string): string {
  return pemBlocks(caPem, 'CERTIFICATE')
    .filter((der) => !isSignedSm2WithSm3(der))
    .map((der) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`)
    .join('');
}
