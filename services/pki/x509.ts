/**
 * Reading and writing X.509 and PKCS#10 structures with node-forge's ASN.1, for certificates
 * whose keys forge's own certificate code cannot hold (it reads RSA keys only): the SM2 CA of
 * ./sm2.ts, and the first look certificate.ts takes at any certificate to tell its suite.
 *
 * forge's ASN.1 is the one already in dzl's PKI, and its encoders of names and extensions are the
 * ones the RSA CA uses, so both suites' certificates carry byte-identical subjects and profiles.
 * Everything signed is checked over the exact bytes received (../seal/suites/der.ts slices them),
 * and a structure forge would encode differently from what was received is refused.
 */
import forge from 'node-forge';
import { derSequenceMembers } from '../seal/suites/der';
import type { SuiteName } from '../seal/suites/registry';
import type { ParsedExtension } from './profiles';

export type Asn1 = forge.asn1.Asn1;
const { asn1 } = forge;

export const OIDS = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  /** GB/T 33560 / GM/T 0006: the SM2 curve sm2p256v1. */
  sm2p256v1: '1.2.156.10197.1.301',
  /** GM/T 0006: SM2 signature with SM3 (SM2-with-SM3). */
  sm2WithSm3: '1.2.156.10197.1.501',
} as const;

/** forge functions the library exports but its type definitions leave out. */
interface ForgePkiExtras {
  RDNAttributesAsArray(rdn: Asn1): forge.pki.CertificateField[];
  certificateExtensionsFromAsn1(exts: Asn1): ParsedExtension[];
  certificateExtensionsToAsn1(exts: object[]): Asn1;
}
const forgePki = forge.pki as unknown as typeof forge.pki & ForgePkiExtras;
type FromDer = (bytes: string, options: { strict: boolean; parseAllBytes: boolean; decodeBitStrings: boolean }) => Asn1;
const fromDer = asn1.fromDer as unknown as FromDer;

export const binary = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('binary');
export const bytesOf = (s: string): Buffer => Buffer.from(s, 'binary');
export const toDer = (a: Asn1): Buffer => bytesOf(asn1.toDer(a).getBytes());

export const sequence = (members: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, members);
export const objectId = (oid: string): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes());
export const integer = (bytes: Uint8Array): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, binary(bytes));
export const octetString = (bytes: Uint8Array): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, binary(bytes));
/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (bytes: Uint8Array): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + binary(bytes));
export const explicit = (tag: number, members: Asn1[]): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, true, members);

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
export function timeOf(date: Date): Asn1 {
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

export function nameOf(attributes: forge.pki.CertificateField[]): Asn1 {
  // setSubject fills in each attribute's OID and string type the way the RSA CA's certificates have them
  const holder = forge.pki.createCertificate();
  holder.setSubject(attributes);
  return forge.pki.distinguishedNameToAsn1(holder.subject);
}

export function extensionsOf(extensions: object[]): Asn1 {
  const holder = forge.pki.createCertificate();
  holder.setExtensions(extensions);
  return forgePki.certificateExtensionsToAsn1((holder as unknown as { extensions: object[] }).extensions);
}

export function pemOf(type: 'CERTIFICATE' | 'CERTIFICATE REQUEST' | 'PRIVATE KEY' | 'PUBLIC KEY', der: Uint8Array): string {
  return forge.pem.encode({ type, body: binary(der) });
}

/** The DER of every PEM block of `type` in the text, in order. */
export function pemBlocks(text: string, type: string): Buffer[] {
  let blocks: { type: string; body: string }[];
  try {
    blocks = forge.pem.decode(text);
  } catch {
    return [];
  }
  return blocks.filter((b) => b.type === type).map((b) => bytesOf(b.body));
}

/** Strict DER: forge must parse all of it and encode it back to the same bytes. */
export function parseDer(bytes: Buffer): Asn1 | undefined {
  let a: Asn1;
  try {
    a = fromDer(binary(bytes), { strict: true, parseAllBytes: true, decodeBitStrings: false });
  } catch {
    return undefined;
  }
  return toDer(a).equals(bytes) ? a : undefined;
}

const members = (a: Asn1 | undefined): Asn1[] => (a && Array.isArray(a.value) ? (a.value as Asn1[]) : []);
const primitive = (a: Asn1 | undefined): string | undefined => (a && typeof a.value === 'string' ? a.value : undefined);
const isUniversal = (a: Asn1 | undefined, type: number): boolean => !!a && a.tagClass === asn1.Class.UNIVERSAL && a.type === type;

/** The OID of an AlgorithmIdentifier whose parameters are absent or NULL; undefined otherwise. */
export function algorithmOid(a: Asn1 | undefined): string | undefined {
  const [id, params, extra] = members(a);
  if (!isUniversal(a, asn1.Type.SEQUENCE) || !isUniversal(id, asn1.Type.OID) || extra) return undefined;
  if (params && !(isUniversal(params, asn1.Type.NULL) && params.value === '')) return undefined;
  return asn1.derToOid(primitive(id)!);
}

/** The suite of a SubjectPublicKeyInfo's algorithm (the key algorithm is what says a party's suite). */
export function keySuiteOf(spki: Asn1 | undefined): SuiteName | undefined {
  return keySuiteOfAlgorithm(members(spki)[0]);
}

/**
 * Whether a certificate's outer signatureAlgorithm is SM2-with-SM3, read from its DER without
 * parsing the rest: how a reader picks the SM2 path before any library sees the certificate.
 */
export function isSignedSm2WithSm3(der: Buffer): boolean {
  const alg = derSequenceMembers(der)?.[1];
  const parsed = alg && parseDer(alg);
  return !!parsed && algorithmOid(parsed) === OIDS.sm2WithSm3;
}

/** The suite of a key's AlgorithmIdentifier: rsaEncryption, or id-ecPublicKey on sm2p256v1. */
export function keySuiteOfAlgorithm(alg: Asn1 | undefined): SuiteName | undefined {
  const [id, params] = members(alg);
  if (!isUniversal(id, asn1.Type.OID)) return undefined;
  const keyOid = asn1.derToOid(primitive(id)!);
  if (keyOid === OIDS.rsaEncryption) return 'RSA';
  if (keyOid === OIDS.ecPublicKey && isUniversal(params, asn1.Type.OID) && asn1.derToOid(primitive(params)!) === OIDS.sm2p256v1) return 'SM';
  return undefined;
}

/** The bytes of a BIT STRING with no unused bits. */
export function bitStringBytes(a: Asn1 | undefined): Buffer | undefined {
  const v = isUniversal(a, asn1.Type.BITSTRING) ? primitive(a) : undefined;
  return v !== undefined && v.charCodeAt(0) === 0 ? bytesOf(v.slice(1)) : undefined;
}

export interface CertificateParts {
  der: Buffer;
  /** The TBSCertificate exactly as received: what the issuer signed. */
  tbs: Buffer;
  /** The outer signatureAlgorithm, which must equal the TBSCertificate's own. */
  signatureOid: string | undefined;
  signature: Buffer | undefined;
  serialHex: string;
  issuerDer: Buffer;
  subjectDer: Buffer;
  subject: forge.pki.CertificateField[];
  notBefore: Date;
  notAfter: Date;
  spki: Asn1;
  keySuite: SuiteName | undefined;
  extensions: ParsedExtension[];
}

function dateOf(a: Asn1 | undefined): Date | undefined {
  const v = primitive(a);
  if (v === undefined) return undefined;
  if (isUniversal(a, asn1.Type.UTCTIME)) return asn1.utcTimeToDate(v);
  if (isUniversal(a, asn1.Type.GENERALIZEDTIME)) return asn1.generalizedTimeToDate(v);
  return undefined;
}

/** The parts of an X.509 v3 certificate; throws when the DER is not one. Nothing is verified. */
export function certificateParts(der: Buffer): CertificateParts {
  const cert = parseDer(der);
  const tbs = derSequenceMembers(der)?.[0];
  const [tbsA, outerAlg, sig, extra] = members(cert);
  const fields = members(tbsA);
  const hasVersion = fields[0]?.tagClass === asn1.Class.CONTEXT_SPECIFIC && fields[0].type === 0;
  const [serial, innerAlg, issuer, validity, subject, spki, ...rest] = hasVersion ? fields.slice(1) : fields;
  const [notBefore, notAfter] = members(validity).map(dateOf);
  const signatureOid = algorithmOid(outerAlg);
  if (!cert || !tbs || extra || !isUniversal(serial, asn1.Type.INTEGER) || !isUniversal(issuer, asn1.Type.SEQUENCE) || !isUniversal(subject, asn1.Type.SEQUENCE) || !spki || !notBefore || !notAfter) {
    throw new Error('certificate is not DER of an X.509 certificate');
  }
  const extensions = rest.find((a) => a.tagClass === asn1.Class.CONTEXT_SPECIFIC && a.type === 3);
  return {
    der,
    tbs,
    // RFC 5280 §4.1.1.2: the same AlgorithmIdentifier, byte for byte (the outer one is not signed)
    signatureOid: signatureOid !== undefined && innerAlg !== undefined && toDer(outerAlg!).equals(toDer(innerAlg)) ? signatureOid : undefined,
    signature: bitStringBytes(sig),
    serialHex: bytesOf(primitive(serial)!).toString('hex'),
    issuerDer: toDer(issuer!),
    subjectDer: toDer(subject!),
    subject: forgePki.RDNAttributesAsArray(subject!),
    notBefore,
    notAfter,
    spki,
    keySuite: keySuiteOf(spki),
    extensions: extensions ? forgePki.certificateExtensionsFromAsn1(extensions) : [],
  };
}

export interface CsrParts {
  /** The CertificationRequestInfo exactly as received: what the requester signed. */
  info: Buffer;
  signatureOid: string | undefined;
  signature: Buffer | undefined;
  subject: forge.pki.CertificateField[];
  spki: Asn1;
  keySuite: SuiteName | undefined;
}

/** The parts of a PKCS#10 request; throws when the DER is not one. Nothing is verified. */
export function csrParts(der: Buffer): CsrParts {
  const csr = parseDer(der);
  const info = derSequenceMembers(der)?.[0];
  const [infoA, alg, sig, extra] = members(csr);
  const [version, subject, spki, attributes] = members(infoA);
  if (!csr || !info || extra || primitive(version) !== '\x00' || !isUniversal(subject, asn1.Type.SEQUENCE) || !spki || !attributes) {
    throw new Error('CSR is not DER of a PKCS#10 certification request');
  }
  return { info, signatureOid: algorithmOid(alg), signature: bitStringBytes(sig), subject: forgePki.RDNAttributesAsArray(subject!), spki, keySuite: keySuiteOf(spki) };
}

/** A subject attribute's value by short name (CN, O, OU), as forge holds it. */
export function fieldOf(subject: forge.pki.CertificateField[], shortName: string): string | undefined {
  const v = subject.find((a) => a.shortName === shortName)?.value;
  return typeof v === 'string' ? v : undefined;
}
