/**
 * The network's SM2 CA and SM2 party certificates (node-forge has no SM2): keys in PKCS#8 and
 * SubjectPublicKeyInfo, PKCS#10 requests and X.509 v3 certificates signed SM2-with-SM3
 * (1.2.156.10197.1.501) with the default user id, as GM/T 0015 and GB/T 35276 specify and as
 * OpenSSL writes and checks them (`-sm3 -sigopt distid:1234567812345678`, `-vfyopt …`).
 *
 * The SM2 CA stands beside the RSA CA of ./ca.ts (why two roots: see there). Its certificates
 * have the RSA CA's subjects, profiles and extensions (./profiles.ts); only the key, the
 * signature and the subject key identifier (SM3 of the public key, not SHA-1) differ.
 *
 * It can issue the tls profile too, for a TLCP (GB/T 38636) front end a party runs itself; dzl's
 * own mutual TLS on gRPC stays on the RSA CA's tls certificates even for an SM party, because
 * Node's TLS can neither speak TLCP nor present an SM2 certificate.
 */
import type { CertificateUsage } from '../domain/parties';
import { Sm2PrivateKey, Sm2PublicKey } from '../seal/suites/sm2';
import { sm3 } from '../seal/suites/sm3';
import type { CaMaterial, KeyPairPem } from './ca';
import { caExtensions, checkedCsrSubject, partyExtensions, serialNumber, subjectAttributes, type CsrSubject, type IssueOptions } from './profiles';
import {
  bitString,
  bitStringBytes,
  certificateParts,
  csrParts,
  explicit,
  extensionsOf,
  fieldOf,
  integer,
  keySuiteOf,
  keySuiteOfAlgorithm,
  nameOf,
  objectId,
  octetString,
  OIDS,
  parseDer,
  pemBlocks,
  pemOf,
  sequence,
  timeOf,
  toDer,
  type Asn1,
  type CertificateParts,
} from './x509';

const SM2_ALGORITHM = (): Asn1 => sequence([objectId(OIDS.ecPublicKey), objectId(OIDS.sm2p256v1)]);
/** SM2-with-SM3 with its parameters absent, as OpenSSL writes it. */
const SM2_WITH_SM3 = (): Asn1 => sequence([objectId(OIDS.sm2WithSm3)]);

function spkiOf(key: Sm2PublicKey): Asn1 {
  return sequence([SM2_ALGORITHM(), bitString(key.uncompressed())]);
}

/** The SM2 key of a SubjectPublicKeyInfo; undefined for another algorithm or a point off the curve. */
export function sm2PublicKeyOf(spki: Asn1): Sm2PublicKey | undefined {
  if (keySuiteOf(spki) !== 'SM') return undefined;
  const point = bitStringBytes((spki.value as Asn1[])[1]);
  return point ? Sm2PublicKey.fromUncompressed(point) : undefined;
}

/** RFC 5280 §4.2.1.2 method (1) with SM3 in place of SHA-1: the first 160 bits of SM3(subjectPublicKey). */
function keyIdentifierOf(key: Sm2PublicKey): Buffer {
  return sm3(key.uncompressed()).subarray(0, 20);
}

// --- keys ------------------------------------------------------------------------------------

/** PKCS#8 with the ECPrivateKey of RFC 5915 (version 1, d, [1] public key): what OpenSSL writes for SM2. */
export function sm2PrivateKeyToPem(key: Sm2PrivateKey): string {
  const ecPrivateKey = sequence([integer(Buffer.from([1])), octetString(key.scalar()), explicit(1, [bitString(key.publicKey.uncompressed())])]);
  return pemOf('PRIVATE KEY', toDer(sequence([integer(Buffer.from([0])), SM2_ALGORITHM(), octetString(toDer(ecPrivateKey))])));
}

export function sm2PublicKeyToPem(key: Sm2PublicKey): string {
  return pemOf('PUBLIC KEY', toDer(spkiOf(key)));
}

/** An SM2 private key from PKCS#8 PEM (as dzl or `openssl genpkey -algorithm SM2` writes it); throws otherwise. */
export function sm2PrivateKeyFromPem(pem: string): Sm2PrivateKey {
  const [der] = pemBlocks(pem, 'PRIVATE KEY');
  const info = der && parseDer(der);
  const [version, alg, wrapped] = (info?.value as Asn1[] | undefined) ?? [];
  if (!info || version?.value !== '\x00' || keySuiteOfAlgorithm(alg) !== 'SM' || typeof wrapped?.value !== 'string') {
    throw new Error('not a PKCS#8 SM2 private key');
  }
  const ec = parseDer(Buffer.from(wrapped.value, 'binary'));
  const [ecVersion, d, ...tagged] = (ec?.value as Asn1[] | undefined) ?? [];
  const key = typeof d?.value === 'string' && ecVersion?.value === '\x01' ? Sm2PrivateKey.fromScalar(Buffer.from(d.value, 'binary')) : undefined;
  if (!key) throw new Error('PKCS#8 SM2 private key: the scalar is not a valid SM2 private key');
  const publicPart = tagged.find((t) => t.type === 1);
  const stated = publicPart ? bitStringBytes((publicPart.value as Asn1[])[0]) : undefined;
  if (publicPart && !(stated && key.publicKey.uncompressed().equals(stated))) throw new Error('PKCS#8 SM2 private key: its public key is not the one of its scalar');
  return key;
}

/** Whether a PEM private key is an SM2 one (and so belongs to the SM suite). */
export function isSm2KeyPem(pem: string): boolean {
  try {
    sm2PrivateKeyFromPem(pem);
    return true;
  } catch {
    return false;
  }
}

export function generateSm2KeyPair(): KeyPairPem {
  const key = Sm2PrivateKey.generate();
  return { privateKeyPem: sm2PrivateKeyToPem(key), publicKeyPem: sm2PublicKeyToPem(key.publicKey) };
}

// --- certificates ------------------------------------------------------------------------------

function signedStructure(body: Asn1, signer: Sm2PrivateKey): Buffer {
  const bodyDer = toDer(body);
  // the signature's e = SM3(Z_signer ‖ DER of the body), Z with the default user id (GB/T 35276 §10)
  return toDer(sequence([body, SM2_WITH_SM3(), bitString(signer.sign(bodyDer))]));
}

function tbsCertificate(issuer: Asn1, subject: Asn1, key: Sm2PublicKey, validFrom: Date, validUntil: Date, extensions: object[]): Asn1 {
  return sequence([
    explicit(0, [integer(Buffer.from([2]))]), // v3
    integer(Buffer.from(serialNumber(), 'hex')),
    SM2_WITH_SM3(),
    issuer,
    sequence([timeOf(validFrom), timeOf(validUntil)]),
    subject,
    spkiOf(key),
    extensionsOf(extensions), // [3] EXPLICIT Extensions
  ]);
}

/** A self-signed SM2 root for the network, beside the RSA one (same operator, same subject rules). */
export function createSm2NetworkCa(networkName: string, validFrom: Date, validUntil: Date): CaMaterial {
  const key = Sm2PrivateKey.generate();
  const name = nameOf([
    { name: 'commonName', value: `${networkName} Network SM2 CA` },
    { name: 'organizationName', value: networkName },
  ]);
  const der = signedStructure(tbsCertificate(name, name, key.publicKey, validFrom, validUntil, caExtensions(keyIdentifierOf(key.publicKey))), key);
  return { certPem: pemOf('CERTIFICATE', der), keyPem: sm2PrivateKeyToPem(key) };
}

/** A PKCS#10 request signed SM2-with-SM3 by the key it asks a certificate for. */
export function createSm2Csr(subject: CsrSubject, keys: KeyPairPem): string {
  const key = sm2PrivateKeyFromPem(keys.privateKeyPem);
  const info = sequence([integer(Buffer.from([0])), nameOf(subjectAttributes(subject)), spkiOf(key.publicKey), explicit(0, [])]);
  return pemOf('CERTIFICATE REQUEST', signedStructure(info, key));
}

/** Whether a PEM request asks for an SM2 key (and so goes to the SM2 CA). */
export function isSm2Csr(csrPem: string): boolean {
  const [der] = pemBlocks(csrPem, 'CERTIFICATE REQUEST');
  try {
    return !!der && csrParts(der).keySuite === 'SM';
  } catch {
    return false;
  }
}

/** The request's identity and key, once its signature proves the requester holds the key. */
function readSm2Csr(csrPem: string): { subject: CsrSubject; key: Sm2PublicKey } {
  const [der] = pemBlocks(csrPem, 'CERTIFICATE REQUEST');
  if (!der) throw new Error('not a PEM certificate request');
  const parts = csrParts(der);
  const key = sm2PublicKeyOf(parts.spki);
  if (!key) throw new Error('CSR key is not an SM2 public key');
  if (parts.signatureOid !== OIDS.sm2WithSm3 || !parts.signature || !key.verify(parts.info, parts.signature)) {
    throw new Error('CSR signature does not verify: the requester does not hold the key');
  }
  return { subject: checkedCsrSubject((name) => fieldOf(parts.subject, name)), key };
}

/** issueFromCsr for an SM2 request and the SM2 CA (./ca.ts dispatches here). */
export function issueSm2FromCsr(ca: CaMaterial, csrPem: string, usage: CertificateUsage, opts: IssueOptions): string {
  const { subject, key } = readSm2Csr(csrPem);
  const caKey = sm2PrivateKeyFromPem(ca.keyPem);
  const [caDer] = pemBlocks(ca.certPem, 'CERTIFICATE');
  const caParts = caDer && certificateParts(caDer);
  if (!caParts || caParts.keySuite !== 'SM' || !sm2PublicKeyOf(caParts.spki)?.equals(caKey.publicKey)) throw new Error('the SM2 CA certificate is not the one of its key');
  const issuer = parseDer(caParts.subjectDer)!;
  const authority = keyIdentifierOf(caKey.publicKey);
  // rebuilt from the checked values rather than copied, so nothing unvetted enters the subject
  const tbs = tbsCertificate(issuer, nameOf(subjectAttributes(subject)), key, opts.validFrom, opts.validUntil, partyExtensions(usage, subject.partyId, opts, { subject: keyIdentifierOf(key), authority }));
  return pemOf('CERTIFICATE', signedStructure(tbs, caKey));
}

/** An SM2 trust root: its subject (to match issuers) and its key. */
export interface Sm2Anchor {
  subjectDer: Buffer;
  key: Sm2PublicKey;
}

export function sm2AnchorOf(parts: CertificateParts): Sm2Anchor | undefined {
  const key = parts.keySuite === 'SM' ? sm2PublicKeyOf(parts.spki) : undefined;
  return key ? { subjectDer: parts.subjectDer, key } : undefined;
}

/**
 * The SM2 key of a certificate one of the anchors issued: its issuer is the anchor's subject and
 * the anchor's key signed its exact TBSCertificate SM2-with-SM3. Throws otherwise.
 */
export function verifySm2Certificate(parts: CertificateParts, anchors: readonly Sm2Anchor[]): Sm2PublicKey {
  const key = sm2PublicKeyOf(parts.spki);
  if (!key) throw new Error('certificate key is not an SM2 public key');
  const issuedByCa =
    parts.signatureOid === OIDS.sm2WithSm3 &&
    !!parts.signature &&
    anchors.some((a) => a.subjectDer.equals(parts.issuerDer) && a.key.verify(parts.tbs, parts.signature!));
  if (!issuedByCa) throw new Error('certificate is not issued by the network CA');
  return key;
}
