/**
 * Onboarding without shared secrets (issue 11, deploy/JOINING.md). A party makes its own keys and
 * certificate requests in its own folder — the private keys never leave it — and sends one
 * request file to the network operator. The operator checks the requests (each CSR's signature
 * proves the key is held), issues the three certificates from the network CA and registers the
 * party; the party installs the certificates it gets back, after checking each is for its own key.
 *
 *   party folder:  party.json  {sig,enc,tls}.key (0600)  {sig,enc,tls}.csr  request.json
 *                  after install: {sig,enc,tls}.crt  ca.crt
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CERTIFICATE_USAGES, PARTY_ROLES, type CertificateUsage, type PartyRole } from '../domain/parties';
import { createCsr, generateKeyPair, issueFromCsr, type CaMaterial } from '../pki/ca';
import { certificateFingerprint, parseCertificate } from '../pki/certificate';
import { privateKeyFromPem, type PartyIdentity } from '../pki/identity';
import { isSm2Csr } from '../pki/sm2';
import type { PartyPrivateKey, PartyPublicKey, SuiteName } from '../seal/suites/registry';
import { Sm2PrivateKey, Sm2PublicKey } from '../seal/suites/sm2';

export interface PartyRequest {
  v: 1;
  party: { id: string; role: PartyRole; legalName: string };
  suite: SuiteName;
  csrs: Record<CertificateUsage, string>;
}

export interface Admission {
  v: 1;
  partyId: string;
  caPem: string;
  certificates: Record<CertificateUsage, string>;
}

const PARTY_ID = /^[a-z][a-z0-9-]{1,62}$/;

/** `dzl party init`: keys and requests in `dir`, which must not hold a party already. */
export function initParty(dir: string, party: PartyRequest['party'], suite: SuiteName = 'RSA'): PartyRequest {
  if (party.id === 'router') throw new Error('the id router is the network operator\'s own');
  if (!PARTY_ID.test(party.id)) throw new Error('a party id is lowercase letters, digits and hyphens, starting with a letter');
  if (!PARTY_ROLES.includes(party.role) || party.role === 'router') throw new Error('a joining party is a platform, channel, bank or regulator');
  return makePartyFolder(dir, party, suite);
}

/**
 * The keys and requests of any party, the router's own included: what `dzl party init` does after
 * its checks, and what `dzl network init` does for every party of a development network.
 */
export function makePartyFolder(dir: string, party: PartyRequest['party'], suite: SuiteName = 'RSA'): PartyRequest {
  if (existsSync(join(dir, 'party.json'))) throw new Error(`${dir} already holds a party: its keys are never overwritten`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const csrs = {} as Record<CertificateUsage, string>;
  for (const usage of CERTIFICATE_USAGES) {
    // the suite's keys sign and open hops; mutual TLS stays RSA for every party (pki/sm2.ts says why)
    const keys = generateKeyPair(usage === 'tls' ? 'RSA' : suite);
    writeFileSync(join(dir, `${usage}.key`), keys.privateKeyPem, { mode: 0o600 });
    csrs[usage] = createCsr({ partyId: party.id, role: party.role, legalName: party.legalName }, keys);
    writeFileSync(join(dir, `${usage}.csr`), csrs[usage]);
  }
  const request: PartyRequest = { v: 1, party, suite, csrs };
  writeFileSync(join(dir, 'party.json'), JSON.stringify(party, null, 2));
  writeFileSync(join(dir, 'request.json'), JSON.stringify(request, null, 2));
  return request;
}

export interface AdmitOptions {
  validDays?: number;
  /** The certificates' validity, when not from 5 minutes ago for validDays. */
  validFrom?: Date;
  validUntil?: Date;
  /** Names and addresses the party's TLS server answers on (its gRPC endpoint's host). */
  dnsNames?: string[];
  ipAddresses?: string[];
  now?: Date;
}

/**
 * The operator's review of a request: every CSR proves its key and names the party the request
 * names; the CA, not the requester, decides each certificate's profile.
 */
/**
 * The network's CAs: the RSA root, and the SM2 root for a network with SM parties. Each CSR goes to
 * the CA of its key's suite (an SM party's sig and enc to the SM2 CA, its tls to the RSA CA).
 */
export interface NetworkCas {
  rsa: CaMaterial;
  sm?: CaMaterial;
}

const casOf = (ca: CaMaterial | NetworkCas): NetworkCas => ('rsa' in ca ? ca : { rsa: ca });

/** The roots a party trusts: the RSA root, then the SM2 root when the network has one. */
export const trustBundleOf = (ca: CaMaterial | NetworkCas): string => {
  const c = casOf(ca);
  return c.rsa.certPem + (c.sm?.certPem ?? '');
};

export function admitRequest(ca: CaMaterial | NetworkCas, input: unknown, opts: AdmitOptions = {}): Admission {
  const r = (input ?? {}) as Partial<PartyRequest>;
  if (r.party?.id === 'router' || r.party?.role === 'router') throw new Error('not a party request of version 1 (dzl party init writes one)');
  return issueAdmission(ca, r, opts);
}

/** The CA's side of any party's request, the router's own included (`dzl network init`). */
export function issueAdmission(caOrCas: CaMaterial | NetworkCas, input: unknown, opts: AdmitOptions = {}): Admission {
  const cas = casOf(caOrCas);
  const bundle = trustBundleOf(cas);
  const r = (input ?? {}) as Partial<PartyRequest>;
  const p = r.party;
  if (r.v !== 1 || !p || typeof p.id !== 'string' || !(PARTY_ID.test(p.id) || p.id === 'router') || !PARTY_ROLES.includes(p.role as PartyRole) || typeof p.legalName !== 'string' || !r.csrs) {
    throw new Error('not a party request of version 1 (dzl party init writes one)');
  }
  // one suite per party: its sig and enc keys of the same suite (what it signs in and is sealed for)
  if (typeof r.csrs.sig === 'string' && typeof r.csrs.enc === 'string' && isSm2Csr(r.csrs.sig) !== isSm2Csr(r.csrs.enc)) throw new Error('the sig and enc CSRs must be of one suite');
  const now = opts.now ?? new Date();
  const validFrom = opts.validFrom ?? new Date(now.getTime() - 5 * 60_000);
  const validUntil = opts.validUntil ?? new Date(now.getTime() + (opts.validDays ?? 365) * 86_400_000);
  const certificates = {} as Record<CertificateUsage, string>;
  for (const usage of CERTIFICATE_USAGES) {
    const csr = r.csrs[usage];
    if (typeof csr !== 'string') throw new Error(`the request has no ${usage} CSR`);
    const sm = isSm2Csr(csr);
    if (sm && usage === 'tls') throw new Error('the tls CSR must be of an RSA key: mutual TLS stays RSA for every party');
    if (sm && !cas.sm) throw new Error(`the ${usage} CSR is of an SM2 key, and this network has no SM2 CA (dzl network init --sm-ca makes one)`);
    const ca = sm ? cas.sm! : cas.rsa;
    const pem = issueFromCsr(ca, csr, usage, {
      validFrom,
      validUntil,
      ...(usage === 'tls' ? { dnsNames: opts.dnsNames ?? ['localhost'], ipAddresses: opts.ipAddresses ?? ['127.0.0.1'] } : {}),
    });
    const info = parseCertificate(pem, ca.certPem);
    if (info.partyId !== p.id || info.role !== p.role) throw new Error(`the ${usage} CSR names another party than the request`);
    certificates[usage] = pem;
  }
  return { v: 1, partyId: p.id, caPem: bundle, certificates };
}

const spki = (k: KeyObject) => (k.type === 'public' ? k : createPublicKey(k)).export({ type: 'spki', format: 'der' }) as Buffer;

/** Whether a certificate's public key is the one of this private key (either suite). */
function sameKey(own: PartyPrivateKey, certified: PartyPublicKey): boolean {
  if (own instanceof Sm2PrivateKey) return certified instanceof Sm2PublicKey && own.publicKey.equals(certified);
  return !(certified instanceof Sm2PublicKey) && spki(own).equals(spki(certified));
}

/** `dzl party install`: each certificate must certify this folder's own key of its usage. */
export function installAdmission(dir: string, input: unknown): void {
  const a = (input ?? {}) as Partial<Admission>;
  const party = JSON.parse(readFileSync(join(dir, 'party.json'), 'utf8')) as PartyRequest['party'];
  if (a.v !== 1 || a.partyId !== party.id || typeof a.caPem !== 'string' || !a.certificates) throw new Error(`not an admission of ${party.id}`);
  for (const usage of CERTIFICATE_USAGES) {
    const pem = a.certificates[usage];
    if (typeof pem !== 'string') throw new Error(`the admission has no ${usage} certificate`);
    const info = parseCertificate(pem, a.caPem);
    const own = privateKeyFromPem(readFileSync(join(dir, `${usage}.key`), 'utf8'));
    if (info.partyId !== party.id || info.usage !== usage || !sameKey(own, info.publicKey)) {
      throw new Error(`the ${usage} certificate is not for this folder's ${usage} key`);
    }
  }
  for (const usage of CERTIFICATE_USAGES) writeFileSync(join(dir, `${usage}.crt`), a.certificates[usage]);
  writeFileSync(join(dir, 'ca.crt'), a.caPem);
}

/** A party's identity from its own folder, as `dzl party install` left it. */
export function loadOwnIdentity(dir: string): PartyIdentity {
  const party = JSON.parse(readFileSync(join(dir, 'party.json'), 'utf8')) as PartyRequest['party'];
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return {
    partyId: party.id,
    signing: { partyId: party.id, keyId: certificateFingerprint(read('sig.crt')), privateKey: privateKeyFromPem(read('sig.key')) },
    recipient: { partyId: party.id, decryptionKeys: new Map([[certificateFingerprint(read('enc.crt')), privateKeyFromPem(read('enc.key'))]]) },
    tls: { keyPem: read('tls.key'), certPem: read('tls.crt') },
    caPem: read('ca.crt'),
  };
}
