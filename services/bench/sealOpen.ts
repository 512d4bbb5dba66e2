/**
 * 3. One hop's seal + open, for a sample application's fields, platform → channel:
 * node:crypto (sealHop, verifyHop, openHop) against node-forge doing the same operations; and
 * (./suites.ts) the same hop in each pair of cipher suites, RSA and SM side by side.
 */
import { KeyObject } from 'node:crypto';
import { classOf } from '../fields/catalogue';
import { loadDirectory, loadPartyIdentity, type PartyIdentity } from '../network/folder';
import { SAMPLE_CUSTOMERS } from '../parties/samples';
import type { NetworkDirectory } from '../registry/directory';
import { DEV } from '../runtime/localNetwork';
import { canonicalJson } from '../seal/canonical';
import { newSalt, openHop, sealHop, verifyHop, type PartyPrivateKey, type PartyPublicKey, type SealRequest } from '../seal/hop';
import { forgePrivateKey, forgePublicKey, sealHopForge, verifyAndOpenHopForge, type ForgeRecipient, type ForgeSigner, type ForgeSignerCertificate } from './forgeHop';
import { nowMs, summarise, type Summary } from './stats';
import { runSuiteSealOpen, type SuiteBench } from './suites';

export interface SealOpenTiming {
  library: string;
  iterations: number;
  sealMs: Summary;
  openMs: Summary;
  /** Mean ms of one seal plus one verify+open. */
  sealOpenMs: number;
}

export interface SealOpenResult {
  node: SealOpenTiming;
  forge: SealOpenTiming;
  /** forge ms / node:crypto ms per seal+open. */
  forgeOverNode: number;
  /** Each library opened a hop the other sealed. */
  interoperable: boolean;
  rsaBits?: number;
  /** The hop in each pair of suites (RSA → RSA, SM → SM, RSA → SM, SM → RSA), and where its time goes. */
  suites: SuiteBench;
}

interface Parties {
  platform: PartyIdentity;
  channel: PartyIdentity;
  directory: NetworkDirectory;
}

/** The dev network's parties are RSA: forge's side of the comparison needs their KeyObjects. */
function rsaKey(key: PartyPrivateKey | PartyPublicKey): KeyObject {
  if (!(key instanceof KeyObject)) throw new Error('the node:crypto / node-forge comparison runs on RSA parties');
  return key;
}

function request(parties: Parties): Omit<SealRequest, 'to'> {
  return {
    applicationId: 'app_bench-seal-open',
    kind: 'application',
    model: 'data_channel',
    platform: parties.platform.partyId,
    channel: parties.channel.partyId,
    consentRef: 'consent_bench',
    fields: SAMPLE_CUSTOMERS[0]!.fields,
    salt: newSalt(),
    classOf,
  };
}

function timeLoop(library: string, iterations: number, warmup: number, seal: () => unknown, open: (sealed: unknown) => unknown): SealOpenTiming {
  for (let i = 0; i < warmup; i++) open(seal());
  const sealMs: number[] = [];
  const openMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = nowMs();
    const sealed = seal();
    const t1 = nowMs();
    open(sealed);
    const t2 = nowMs();
    sealMs.push(t1 - t0);
    openMs.push(t2 - t1);
  }
  const s = summarise(sealMs);
  const o = summarise(openMs);
  return { library, iterations, sealMs: s, openMs: o, sealOpenMs: s.mean + o.mean };
}

export function runSealOpen(networkDir: string, opts: { nodeIterations: number; forgeIterations: number; suiteIterations?: number }): SealOpenResult {
  const parties: Parties = {
    platform: loadPartyIdentity(networkDir, DEV.platform),
    channel: loadPartyIdentity(networkDir, DEV.channel),
    directory: loadDirectory(networkDir),
  };
  const req = request(parties);
  const to = parties.directory.encryptionCertificate(parties.channel.partyId);
  const signerOf = parties.directory.signerOf;

  const forgeSigner: ForgeSigner = { ...parties.platform.signing, privateKey: forgePrivateKey(rsaKey(parties.platform.signing.privateKey)) };
  const forgeTo = { partyId: to.partyId, keyId: to.keyId, publicKey: forgePublicKey(rsaKey(to.publicKey)) };
  const [channelKeyId, channelKey] = [...parties.channel.recipient.decryptionKeys][0]!;
  const forgeMe: ForgeRecipient = { partyId: parties.channel.partyId, keyId: channelKeyId, privateKey: forgePrivateKey(rsaKey(channelKey)) };
  const forgeSigners = new Map<string, ForgeSignerCertificate>();
  const forgeSignerOf = (keyId: string) => {
    if (!forgeSigners.has(keyId)) {
      const c = signerOf(keyId);
      if (c) forgeSigners.set(keyId, { partyId: c.partyId, keyId: c.keyId, publicKey: forgePublicKey(rsaKey(c.publicKey)) });
    }
    return forgeSigners.get(keyId);
  };

  const nodeSeal = () => sealHop(parties.platform.signing, { ...req, to }).sealed;
  const nodeOpen = (sealed: unknown) => openHop(verifyHop(sealed, { signerOf }), parties.channel.recipient);
  const forgeSeal = () => sealHopForge(forgeSigner, { ...req, to: forgeTo });
  const forgeOpen = (sealed: unknown) => verifyAndOpenHopForge(sealed as ReturnType<typeof forgeSeal>, forgeSignerOf, forgeMe);

  // The two must be the same operations on the same bytes: each opens what the other sealed.
  const same = (a: unknown, b: unknown) => canonicalJson(a).equals(canonicalJson(b));
  const interoperable = same(nodeOpen(forgeSeal()).fields, req.fields) && same(forgeOpen(nodeSeal()).fields, req.fields);

  const node = timeLoop('node:crypto', opts.nodeIterations, 20, nodeSeal, nodeOpen);
  const forgeT = timeLoop('node-forge', opts.forgeIterations, 2, forgeSeal, forgeOpen);
  const rsaBits = rsaKey(parties.platform.signing.privateKey).asymmetricKeyDetails?.modulusLength;
  const suites = runSuiteSealOpen(networkDir, { iterations: opts.suiteIterations ?? 100 });
  return { node, forge: forgeT, forgeOverNode: forgeT.sealOpenMs / node.sealOpenMs, interoperable: interoperable && suites.roundTrips, ...(rsaBits ? { rsaBits } : {}), suites };
}
