/**
 * A development network: one CA, every party's keys, CSRs and certificates, and the network
 * file (registry) the operator publishes. `dzl network init` calls createDevNetwork.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PartyRecord } from '../registry/directory';
import { NetworkDirectory } from '../registry/directory';
import type { PartyIdentity } from '../pki/identity';
import { createNetworkCa, type CaMaterial, type CertificateUsage } from '../pki/ca';
import { installAdmission, issueAdmission, makePartyFolder, trustBundleOf, type NetworkCas } from './onboarding';
import { privateKeyFromPem } from '../pki/identity';
import { createSm2NetworkCa } from '../pki/sm2';
import type { SuiteName } from '../seal/suites/registry';
import { certificateFingerprint } from '../pki/certificate';
import { generateNoteKey, noteSignerFromPem, SIG_COSIGNATURE_V1, type NoteSigner } from '../evidence/note';

export interface NetworkFile {
  network: string;
  caPem: string;
  parties: PartyRecord[];
  /** The evidence log: its origin line, the router's checkpoint key and the witnesses' keys (vkeys). */
  log?: LogTrust;
}

export interface LogTrust {
  origin: string;
  routerVkey: string;
  witnesses: { partyId: string; vkey: string }[];
}

/** A party of a development network; `suite: 'SM'` gives it SM2 sig and enc keys from the SM2 CA. */
export type PartySpec = Omit<PartyRecord, 'certificates'> & { suite?: SuiteName };

const YEAR = 365 * 24 * 3600_000;

export const DEV_PARTIES: PartySpec[] = [
  { id: 'platform-huixin', role: 'platform', legalName: '汇信助贷科技（示例）' },
  // a second platform, a competitor of the first: the hostile-party tests attack with it
  { id: 'platform-jinhe', role: 'platform', legalName: '金禾助贷（示例）' },
  {
    id: 'channel-baihang',
    role: 'channel',
    legalName: '百行征信（示例）',
    licence: { number: 'DEV-PBOC-ZX-0001', issuer: 'PBOC (dev)', validFrom: '2024-01-01T00:00:00Z', validUntil: '2030-12-31T23:59:59Z', status: 'active' },
  },
  {
    id: 'channel-pudao',
    role: 'channel',
    legalName: '朴道征信（示例）',
    licence: { number: 'DEV-PBOC-ZX-0002', issuer: 'PBOC (dev)', validFrom: '2024-01-01T00:00:00Z', validUntil: '2030-12-31T23:59:59Z', status: 'active' },
  },
  { id: 'bank-hangzhou', role: 'bank', legalName: '杭州示范银行', contractedChannel: 'channel-baihang', decisionTimeoutMs: 30_000 },
  { id: 'bank-suzhou', role: 'bank', legalName: '苏州示范消费金融', contractedChannel: 'channel-baihang', decisionTimeoutMs: 30_000 },
  { id: 'bank-ningbo', role: 'bank', legalName: '宁波示范银行', contractedChannel: 'channel-baihang', decisionTimeoutMs: 30_000 },
  { id: 'bank-wenzhou', role: 'bank', legalName: '温州示范银行', contractedChannel: 'channel-pudao', decisionTimeoutMs: 30_000 },
  { id: 'router', role: 'router', legalName: 'dzl 路由（示例运营方）' },
  { id: 'regulator-pboc', role: 'regulator', legalName: '征信管理局（示例）' },
];

const USAGES: CertificateUsage[] = ['sig', 'enc', 'tls'];

/**
 * `smCa`: an SM2 root beside the RSA one (made anyway when a party is of the SM suite), so that
 * parties of both suites can join; the network file's `caPem` is then the bundle of both roots.
 */
export function createDevNetwork(dir: string, parties: PartySpec[] = DEV_PARTIES, network = 'dzl-dev', opts: { smCa?: boolean } = {}): NetworkFile {
  const now = Date.now();
  const validFrom = new Date(now - 24 * 3600_000);
  const ca: CaMaterial = createNetworkCa(network, validFrom, new Date(now + 10 * YEAR));
  mkdirSync(join(dir, 'ca'), { recursive: true });
  writeFileSync(join(dir, 'ca', 'ca.crt'), ca.certPem);
  writeFileSync(join(dir, 'ca', 'ca.key'), ca.keyPem, { mode: 0o600 });
  const cas: NetworkCas = { rsa: ca };
  if (opts.smCa || parties.some((p) => p.suite === 'SM')) {
    cas.sm = createSm2NetworkCa(network, validFrom, new Date(now + 10 * YEAR));
    writeFileSync(join(dir, 'ca', SM2_CA_CERT), cas.sm.certPem);
    writeFileSync(join(dir, 'ca', SM2_CA_KEY), cas.sm.keyPem, { mode: 0o600 });
  }
  const records: PartyRecord[] = [];
  // the same steps a joining party and the operator take (services/network/onboarding.ts): the
  // party's keys and requests in its own folder, the CA's admission, the install
  for (const { suite, ...spec } of parties) {
    const pdir = join(dir, 'parties', spec.id);
    const request = makePartyFolder(pdir, { id: spec.id, role: spec.role, legalName: spec.legalName }, suite ?? 'RSA');
    const admission = issueAdmission(cas, request, { validFrom, validUntil: new Date(now + 2 * YEAR), dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    installAdmission(pdir, admission);
    records.push({ ...spec, certificates: USAGES.map((u) => admission.certificates[u]) });
  }
  // The router's key for Temporal payloads: never leaves the router's side.
  mkdirSync(join(dir, 'parties', 'router'), { recursive: true });
  writeFileSync(join(dir, 'parties', 'router', 'payload.key'), JSON.stringify({ keyId: 'payload-1', key: randomBytes(32).toString('base64') }), { mode: 0o600 });
  const file: NetworkFile = { network, caPem: trustBundleOf(cas), parties: records };
  writeFileSync(join(dir, 'network.json'), JSON.stringify(file, null, 2));
  return ensureLogKeys(dir);
}

const ROUTER_NOTE_KEY = 'parties/router/checkpoint.key';
const witnessKeyPath = (partyId: string) => `parties/${partyId}/witness.key`;

/**
 * The checkpoint key (Ed25519, C2SP note type 0x01) and one witness key per regulator (type
 * 0x04); created once, published in network.json as vkeys for verifiers to pin.
 */
export function ensureLogKeys(dir: string): NetworkFile {
  const file = readNetworkFile(dir);
  if (file.log && existsSync(join(dir, ROUTER_NOTE_KEY))) return file;
  const router = generateNoteKey(`dzl.dev/${file.network}/router`);
  writeFileSync(join(dir, ROUTER_NOTE_KEY), JSON.stringify({ name: router.signer.name, pem: router.privateKeyPem }), { mode: 0o600 });
  const witnesses = file.parties
    .filter((p) => p.role === 'regulator')
    .map((p) => {
      const w = generateNoteKey(`dzl.dev/${file.network}/witness/${p.id}`, SIG_COSIGNATURE_V1);
      mkdirSync(join(dir, 'parties', p.id), { recursive: true });
      writeFileSync(join(dir, witnessKeyPath(p.id)), JSON.stringify({ name: w.signer.name, pem: w.privateKeyPem }), { mode: 0o600 });
      return { partyId: p.id, vkey: w.signer.vkey };
    });
  const updated: NetworkFile = { ...file, log: { origin: `dzl.dev/${file.network}/evidence`, routerVkey: router.signer.vkey, witnesses } };
  writeFileSync(join(dir, 'network.json'), JSON.stringify(updated, null, 2));
  return updated;
}

export function loadCheckpointSigner(dir: string): NoteSigner {
  const k = JSON.parse(readFileSync(join(dir, ROUTER_NOTE_KEY), 'utf8')) as { name: string; pem: string };
  return noteSignerFromPem(k.name, k.pem);
}

export function loadWitnessSigner(dir: string, partyId: string): NoteSigner {
  const k = JSON.parse(readFileSync(join(dir, witnessKeyPath(partyId)), 'utf8')) as { name: string; pem: string };
  return noteSignerFromPem(k.name, k.pem, SIG_COSIGNATURE_V1);
}

export function networkExists(dir: string): boolean {
  return existsSync(join(dir, 'network.json'));
}

export function readNetworkFile(dir: string): NetworkFile {
  return JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8')) as NetworkFile;
}

export function loadDirectory(dir: string): NetworkDirectory {
  const f = readNetworkFile(dir);
  return new NetworkDirectory(f.caPem, f.parties);
}

export type { PartyIdentity };

/** A party's own keys, read from its folder of the dev network (an HSM in production). */
export function loadPartyIdentity(dir: string, partyId: string): PartyIdentity {
  const pdir = join(dir, 'parties', partyId);
  const read = (name: string) => readFileSync(join(pdir, name), 'utf8');
  // an RSA or an SM2 key, whichever suite the party is of
  const key = (usage: CertificateUsage) => privateKeyFromPem(read(`${usage}.key`));
  return {
    partyId,
    signing: { partyId, keyId: certificateFingerprint(read('sig.crt')), privateKey: key('sig') },
    recipient: { partyId, decryptionKeys: new Map([[certificateFingerprint(read('enc.crt')), key('enc')]]) },
    tls: { keyPem: read('tls.key'), certPem: read('tls.crt') },
    // the network's roots: the RSA CA's, and the SM2 CA's when it has one (TLS trusts the RSA one)
    caPem: readNetworkFile(dir).caPem,
  };
}

const SM2_CA_CERT = 'sm2-ca.crt';
const SM2_CA_KEY = 'sm2-ca.key';

/** The operator's CAs from the network folder: the RSA CA, and the SM2 CA when the network has one. */
export function loadNetworkCas(dir: string): NetworkCas {
  const read = (f: string) => readFileSync(join(dir, 'ca', f), 'utf8');
  const rsa: CaMaterial = { certPem: read('ca.crt'), keyPem: read('ca.key') };
  return existsSync(join(dir, 'ca', SM2_CA_KEY)) ? { rsa, sm: { certPem: read(SM2_CA_CERT), keyPem: read(SM2_CA_KEY) } } : { rsa };
}

export interface PayloadKeys {
  current: { keyId: string; key: Buffer };
  /** Keys of earlier rotations: histories sealed under them stay readable. */
  previous: { keyId: string; key: Buffer }[];
}

const payloadKeyFile = (dir: string) => join(dir, 'parties', 'router', 'payload.key');
const previousKeysFile = (dir: string) => join(dir, 'parties', 'router', 'payload.previous.json');

/** The Temporal payload key, and the earlier ones (payload.previous.json) after a rotation. */
export function loadPayloadKeys(dir: string): PayloadKeys {
  const decode = (raw: { keyId: string; key: string }) => ({ keyId: raw.keyId, key: Buffer.from(raw.key, 'base64') });
  const current = decode(JSON.parse(readFileSync(payloadKeyFile(dir), 'utf8')) as { keyId: string; key: string });
  const previous = existsSync(previousKeysFile(dir)) ? (JSON.parse(readFileSync(previousKeysFile(dir), 'utf8')) as { keyId: string; key: string }[]).map(decode) : [];
  return { current, previous };
}

/**
 * A new payload key; the old one joins the previous keys. Routers and workers read the keys when
 * they start: restart them one by one — each reads what the others write, before and after.
 */
export function rotatePayloadKey(dir: string): string {
  const { current, previous } = loadPayloadKeys(dir);
  const keyId = `payload-${Date.now().toString(36)}`;
  const encode = (k: { keyId: string; key: Buffer }) => ({ keyId: k.keyId, key: k.key.toString('base64') });
  writeFileSync(previousKeysFile(dir), JSON.stringify([...previous, current].map(encode)), { mode: 0o600 });
  writeFileSync(payloadKeyFile(dir), JSON.stringify({ keyId, key: randomBytes(32).toString('base64') }), { mode: 0o600 });
  return keyId;
}
