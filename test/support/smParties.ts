/**
 * SM parties beside the RSA dev network, for the suite's tests: an SM2 network CA, SM2 sig and
 * enc certificates issued from CSRs, and one directory over both roots in which the router is an
 * SM party (so notices and redirect tokens are SM2-signed) and the dev network's RSA parties stay.
 * Until `dzl network init` makes SM parties (phase 2), this is where they come from.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCsr, generateKeyPair, issueFromCsr, type CaMaterial } from '../../services/pki/ca';
import { certificateFingerprint } from '../../services/pki/certificate';
import { privateKeyFromPem } from '../../services/pki/identity';
import { createSm2NetworkCa } from '../../services/pki/sm2';
import { readNetworkFile } from '../../services/network/folder';
import { NetworkDirectory, type PartyRecord } from '../../services/registry/directory';
import type { RecipientIdentity, SigningIdentity } from '../../services/seal/hop';
import type { PartyRole } from '../../services/domain/parties';
import { ensureNetwork, tempDir } from './env';
import { parties, type Parties } from './fixtures';

export interface SmParty {
  partyId: string;
  signing: SigningIdentity;
  recipient: RecipientIdentity;
  /** PEM files in `dir`: sig.key, sig.crt, enc.key, enc.crt (what the openssl tests hand over). */
  dir: string;
}

export interface SmWorld {
  rsa: Parties;
  smCa: CaMaterial;
  /** The RSA root followed by the SM2 root. */
  caPem: string;
  directory: NetworkDirectory;
  platform: SmParty;
  channel: SmParty;
  bank: SmParty;
  router: SmParty;
  dir: string;
}

const SPECS: { id: string; role: PartyRole; legalName: string }[] = [
  { id: 'platform-guomi', role: 'platform', legalName: '国密助贷科技（示例）' },
  { id: 'channel-guomi', role: 'channel', legalName: '国密征信（示例）' },
  { id: 'bank-guomi', role: 'bank', legalName: '国密示范银行' },
  { id: 'router', role: 'router', legalName: 'dzl 路由（国密示例）' },
];

let world: SmWorld | undefined;

export function smWorld(): SmWorld {
  if (world) return world;
  const rsa = parties();
  const file = readNetworkFile(ensureNetwork());
  const dir = tempDir('sm-world');
  const now = Date.now();
  const validFrom = new Date(now - 24 * 3600_000);
  const validUntil = new Date(now + 365 * 24 * 3600_000);
  const smCa = createSm2NetworkCa(file.network, validFrom, new Date(now + 10 * 365 * 24 * 3600_000));
  writeFileSync(join(dir, 'sm-ca.crt'), smCa.certPem);
  const caPem = file.caPem + smCa.certPem;
  const records: PartyRecord[] = file.parties.filter((p) => p.id !== 'router');
  const made = new Map<string, SmParty>();
  for (const spec of SPECS) {
    const pdir = join(dir, spec.id);
    mkdirSync(pdir, { recursive: true });
    const certificates: string[] = [];
    const keys = new Map<string, { keyId: string; pem: string }>();
    for (const usage of ['sig', 'enc'] as const) {
      const pair = generateKeyPair('SM');
      const pem = issueFromCsr(smCa, createCsr({ partyId: spec.id, role: spec.role, legalName: spec.legalName }, pair), usage, { validFrom, validUntil });
      writeFileSync(join(pdir, `${usage}.key`), pair.privateKeyPem);
      writeFileSync(join(pdir, `${usage}.crt`), pem);
      certificates.push(pem);
      keys.set(usage, { keyId: certificateFingerprint(pem), pem: pair.privateKeyPem });
    }
    records.push({ id: spec.id, role: spec.role, legalName: spec.legalName, certificates, ...(spec.role === 'channel' ? { licence: { number: 'DEV-PBOC-ZX-0003', issuer: 'PBOC (dev)', validFrom: '2024-01-01T00:00:00Z', validUntil: '2030-12-31T23:59:59Z', status: 'active' as const } } : {}) });
    const sig = keys.get('sig')!;
    const enc = keys.get('enc')!;
    made.set(spec.id, {
      partyId: spec.id,
      signing: { partyId: spec.id, keyId: sig.keyId, privateKey: privateKeyFromPem(sig.pem) },
      recipient: { partyId: spec.id, decryptionKeys: new Map([[enc.keyId, privateKeyFromPem(enc.pem)]]) },
      dir: pdir,
    });
  }
  world = {
    rsa,
    smCa,
    caPem,
    directory: new NetworkDirectory(caPem, records),
    platform: made.get('platform-guomi')!,
    channel: made.get('channel-guomi')!,
    bank: made.get('bank-guomi')!,
    router: made.get('router')!,
    dir,
  };
  return world;
}
