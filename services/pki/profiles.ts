/**
 * What a dzl party certificate says, whichever CA issues it (the RSA CA in ./ca.ts, the SM2 CA in
 * ./sm2.ts): the subject rules, the three profiles' extensions, and how a reader tells the
 * profiles apart (envelope.md §16). Both CAs build from here so the two suites' certificates
 * differ in their keys and signatures only.
 */
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { PARTY_ROLES, type CertificateUsage, type PartyRole } from '../domain/parties';

export const PARTY_URI_PREFIX = 'urn:dzl:party:';
const PARTY_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

export interface CsrSubject {
  partyId: string;
  role: PartyRole;
  legalName: string;
}

export interface IssueOptions {
  validFrom: Date;
  validUntil: Date;
  /** For tls certificates: the names the party's servers answer on. */
  dnsNames?: string[];
  ipAddresses?: string[];
}

export function serialNumber(): string {
  // positive, 16 bytes: the leading 0x01..0x7f byte keeps the DER INTEGER positive.
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

export function subjectAttributes(s: CsrSubject): forge.pki.CertificateField[] {
  return [
    { name: 'commonName', value: s.partyId },
    // a UTF8String (forge encodes it); the default PrintableString cannot hold a Chinese legal name
    { name: 'organizationName', value: s.legalName, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class },
    { name: 'organizationalUnitName', value: s.role },
  ];
}

/**
 * The identity a CSR asks for, checked: `field` reads a subject attribute by short name (CN, O,
 * OU) as forge holds it (UTF-8 bytes in a binary string).
 */
export function checkedCsrSubject(field: (shortName: 'CN' | 'O' | 'OU') => string | undefined): CsrSubject {
  const partyId = field('CN');
  const role = field('OU') as PartyRole | undefined;
  const o = field('O');
  const legalName = o && forge.util.decodeUtf8(o);
  if (!partyId || !PARTY_ID.test(partyId)) throw new Error('CSR commonName must be a party id');
  if (!role || !PARTY_ROLES.includes(role)) throw new Error('CSR organizationalUnitName must be a party role');
  if (!legalName) throw new Error('CSR organizationName must be the legal name');
  return { partyId, role, legalName };
}

/**
 * A party certificate's extensions in forge's form, in the order both CAs write them. `keyIds`
 * are the subject key identifier (absent: forge computes it from an RSA key) and the CA's.
 */
export function partyExtensions(usage: CertificateUsage, partyId: string, opts: IssueOptions, keyIds: { subject?: Uint8Array; authority: Uint8Array }): object[] {
  const altNames: { type: number; value?: string; ip?: string }[] = [{ type: 6, value: PARTY_URI_PREFIX + partyId }];
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    keyIds.subject ? subjectKeyIdentifier(keyIds.subject) : { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: Buffer.from(keyIds.authority).toString('binary') },
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
  return extensions;
}

/** The network CA's extensions: a CA for party certificates only (path length 0). */
export function caExtensions(subjectKeyId?: Uint8Array): object[] {
  return [
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    subjectKeyId ? subjectKeyIdentifier(subjectKeyId) : { name: 'subjectKeyIdentifier' },
  ];
}

function subjectKeyIdentifier(id: Uint8Array): object {
  const { asn1 } = forge;
  return { name: 'subjectKeyIdentifier', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, Buffer.from(id).toString('binary')) };
}

/** An extension as forge parses it (its certificateExtensionFromAsn1), the members dzl reads. */
export interface ParsedExtension {
  name?: string;
  critical?: boolean;
  digitalSignature?: boolean;
  keyEncipherment?: boolean;
  keyCertSign?: boolean;
  serverAuth?: boolean;
  cA?: boolean;
  altNames?: { type: number; value: string }[];
  subjectKeyIdentifier?: string;
}

/** The profile the CA issued under, read back from the key-usage extensions it set. */
export function usageOf(extensions: readonly ParsedExtension[]): CertificateUsage | undefined {
  const ku = extensions.find((e) => e.name === 'keyUsage');
  const eku = extensions.find((e) => e.name === 'extKeyUsage');
  if (eku?.serverAuth) return 'tls';
  if (ku?.digitalSignature && !ku.keyEncipherment) return 'sig';
  if (ku?.keyEncipherment && !ku.digitalSignature) return 'enc';
  return undefined;
}

/** The party URN of the subjectAltName, when it names the subject's own CN. */
export function partyUriOf(extensions: readonly ParsedExtension[]): string | undefined {
  const san = extensions.find((e) => e.name === 'subjectAltName');
  return san?.altNames?.find((a) => a.type === 6 && a.value.startsWith(PARTY_URI_PREFIX))?.value;
}
