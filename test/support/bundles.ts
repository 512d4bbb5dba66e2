/**
 * Real evidence bundles for tests, built from the shared dev network: party and consent leaves,
 * the three sealed hops of a data-channel application, the recipients' receipts, a refusal, a
 * few unrelated leaves, RFC 9162 inclusion proofs and a checkpoint signed by the router's note
 * key and cosigned by the regulator's witness key; and the personal-data lifecycle after it
 * (a withdrawal, the router's notices, the parties' acknowledgements, the erasure).
 */
import type { Consent } from '../../services/consent/consent';
import type { BundleScope, ConsentLeaf, EvidenceBundle, PartyLeaf } from '../../services/evidence/bundle';
import { BUNDLE_FORMAT } from '../../services/evidence/bundle';
import type { HopLeaf, Leaf, ReceiptLeaf, RefusalLeaf } from '../../services/ledger/ledger';
import { noticeDigest, signNotice, type ConsentStateLeaf, type DeletionLeaf, type NoticeBody, type NoticeLeaf, type SignedNotice } from '../../services/evidence/lifecycle';
import { hashLeaf, inclusionProof, merkleRoot } from '../../services/evidence/merkle';
import { checkpointBody, cosignatureLine, signNote, type NoteSigner } from '../../services/evidence/note';
import { classOf } from '../../services/fields/catalogue';
import { certificateFingerprint } from '../../services/pki/certificate';
import {
  ensureLogKeys,
  loadCheckpointSigner,
  loadDirectory,
  loadPartyIdentity,
  loadWitnessSigner,
  type NetworkFile,
  type PartyIdentity,
} from '../../services/network/folder';
import type { ChannelLicence, NetworkDirectory } from '../../services/registry/directory';
import { b64url, fromB64url } from '../../services/seal/bytes';
import { canonicalJson } from '../../services/seal/canonical';
import { newSalt, sealHop, type Fields, type Provenance, type SealedResult, type SealRequest, type SigningIdentity } from '../../services/seal/hop';
import { signReceipt } from '../../services/seal/receipt';
import { SAMPLE_FIELDS } from './fixtures';
import { ensureNetwork } from './env';

export const PLATFORM = 'platform-huixin';
export const CHANNEL = 'channel-baihang';
export const BANK = 'bank-hangzhou';
export const ROUTER = 'router';
export const WITNESS_PARTY = 'regulator-pboc';

export interface BundleWorld {
  dir: string;
  network: NetworkFile;
  caPem: string;
  origin: string;
  routerVkey: string;
  checkpointSigner: NoteSigner;
  witnessSigner: NoteSigner;
  witnessVkey: string;
  directory: NetworkDirectory;
  platform: PartyIdentity;
  channel: PartyIdentity;
  bank: PartyIdentity;
  router: PartyIdentity;
}

export function bundleWorld(): BundleWorld {
  const dir = ensureNetwork();
  const network = ensureLogKeys(dir);
  const log = network.log!;
  return {
    dir,
    network,
    caPem: network.caPem,
    origin: log.origin,
    routerVkey: log.routerVkey,
    checkpointSigner: loadCheckpointSigner(dir),
    witnessSigner: loadWitnessSigner(dir, WITNESS_PARTY),
    witnessVkey: log.witnesses.find((w) => w.partyId === WITNESS_PARTY)!.vkey,
    directory: loadDirectory(dir),
    platform: loadPartyIdentity(dir, PLATFORM),
    channel: loadPartyIdentity(dir, CHANNEL),
    bank: loadPartyIdentity(dir, BANK),
    router: loadPartyIdentity(dir, ROUTER),
  };
}

export function partyPems(world: BundleWorld, partyId: string): string[] {
  return world.network.parties.find((p) => p.id === partyId)!.certificates;
}

/** A registry snapshot of a party as the network file has it (key ids of all its certificates). */
export function partyLeaf(world: BundleWorld, partyId: string, over: Partial<PartyLeaf['party']> = {}): PartyLeaf {
  const r = world.network.parties.find((p) => p.id === partyId)!;
  return {
    type: 'party',
    recordedAt: new Date().toISOString(),
    party: {
      id: r.id,
      role: r.role,
      legalName: r.legalName,
      ...(r.licence ? { licence: r.licence } : {}),
      certificates: r.certificates.map(certificateFingerprint),
      ...over,
    },
  };
}

export function hopLeaf(hop: SealedResult): HopLeaf {
  return { type: 'hop', recordedAt: new Date().toISOString(), header: hop.sealed.header, signature: hop.sealed.signature };
}

export function receiptLeaf(by: PartyIdentity, hop: SealedResult, status: 'accepted' | 'rejected' = 'accepted'): ReceiptLeaf {
  const signed = signReceipt(by.signing, { hopId: hop.header.hopId, headerDigest: hop.headerDigest }, status, status === 'rejected' ? 'HOP_EXPIRED' : undefined);
  return { type: 'receipt', recordedAt: new Date().toISOString(), hopId: hop.header.hopId, receipt: signed.receipt, signature: signed.signature };
}

export function refusalLeaf(over: Partial<RefusalLeaf> = {}): RefusalLeaf {
  return {
    type: 'refusal',
    recordedAt: new Date().toISOString(),
    code: 'HOP_SIGNATURE_INVALID',
    message: 'signature of hop hop_refused does not verify against platform-huixin\'s certificate',
    stage: 'intake',
    refusedBy: 'router',
    ...over,
  };
}

/** An append-only list of leaves with the bundle-making side of the evidence log. */
export class TestLog {
  readonly leaves: Leaf[] = [];

  append(leaf: Leaf): number {
    this.leaves.push(leaf);
    return this.leaves.length - 1;
  }

  data(index: number): Buffer {
    return canonicalJson(this.leaves[index]);
  }

  leafHashes(): Uint8Array[] {
    return this.leaves.map((_, i) => hashLeaf(this.data(i)));
  }

  checkpoint(world: BundleWorld, opts: { cosign?: boolean; signer?: NoteSigner } = {}): string {
    const body = checkpointBody({ origin: world.origin, size: this.leaves.length, rootHash: Buffer.from(merkleRoot(this.leafHashes())) });
    const note = signNote(body, opts.signer ?? world.checkpointSigner);
    return opts.cosign === false ? note : note + cosignatureLine(body, world.witnessSigner);
  }

  /** A bundle of the leaves at `include` with their proofs, or of the whole log when `complete`. */
  bundle(
    world: BundleWorld,
    opts: { include?: number[]; complete?: boolean; scope?: BundleScope; cosign?: boolean; certificates?: string[] } = {},
  ): EvidenceBundle {
    const hashes = this.leafHashes();
    const complete = opts.complete ?? false;
    const include = complete ? this.leaves.map((_, i) => i) : (opts.include ?? this.leaves.map((_, i) => i));
    return {
      format: BUNDLE_FORMAT,
      scope: opts.scope ?? (complete ? { kind: 'direct-connection-audit' } : { kind: 'application', applicationId: `${PLATFORM}:app_bundle_1` }),
      generatedAt: new Date().toISOString(),
      checkpoint: this.checkpoint(world, { cosign: opts.cosign ?? true }),
      complete,
      leaves: include.map((index) => ({
        index,
        data: b64url(this.data(index)),
        ...(complete ? {} : { proof: inclusionProof(index, hashes).map((h) => b64url(h)) }),
      })),
      certificates: opts.certificates ?? [PLATFORM, CHANNEL, BANK].flatMap((id) => partyPems(world, id)),
    };
  }
}

export interface FlowOptions {
  applicationId?: string;
  consent?: Partial<Consent>;
  channelLicence?: ChannelLicence;
  /** The credit report's fields; the default is application elements and product.* fields. */
  creditReportFields?: Fields;
  /** How many unrelated leaves (another application's refusals) to interleave. */
  unrelated?: number;
  /** The channel's credit product on the credit report, the bank's model on the decision. */
  provenance?: { creditReport?: Provenance; decision?: Provenance };
}

export interface Flow {
  world: BundleWorld;
  log: TestLog;
  applicationId: string;
  consent: Consent;
  hops: { application: SealedResult; creditReport: SealedResult; decision: SealedResult };
  /** Log indices of this application's leaves (what an application bundle includes). */
  own: number[];
  unrelated: number[];
}

export const CREDIT_REPORT_FIELDS: Fields = {
  'customer.name': SAMPLE_FIELDS['customer.name']!,
  'customer.idNumber': SAMPLE_FIELDS['customer.idNumber']!,
  'loan.amount': SAMPLE_FIELDS['loan.amount']!,
  'loan.termMonths': SAMPLE_FIELDS['loan.termMonths']!,
  'product.name': 'BAIHANG-SCORE',
  'product.version': '3.1',
  'product.score': 688,
  'product.antiFraud': 'pass',
};

export function seal(world: BundleWorld, from: PartyIdentity, to: string, req: Omit<SealRequest, 'to' | 'classOf' | 'model' | 'platform' | 'channel' | 'salt'> & { salt?: Buffer }): SealedResult {
  return sealHop(from.signing, {
    ...req,
    model: 'data_channel',
    platform: PLATFORM,
    channel: CHANNEL,
    classOf,
    salt: req.salt ?? newSalt(),
    to: world.directory.encryptionCertificate(to),
  });
}

/**
 * Appends a whole data-channel application to a log: unrelated leaves, the three parties, the
 * consent, application → credit report → decision with each recipient's receipt, and a refusal.
 */
export function dataChannelFlow(world: BundleWorld, opts: FlowOptions = {}, log = new TestLog()): Flow {
  // ids in their owners' namespaces (envelope.md §4): an application id is its platform's
  const local = opts.applicationId ?? 'app_bundle_1';
  const applicationId = local.startsWith(`${PLATFORM}:`) ? local : `${PLATFORM}:${local}`;
  const now = Date.now();
  const consent: Consent = {
    id: `${PLATFORM}:consent_${local}`,
    platformId: PLATFORM,
    textVersion: 'v2026-11',
    textSha256: '0'.repeat(64),
    purposes: ['credit_assessment'],
    recipients: [CHANNEL, BANK],
    grantedAt: new Date(now - 3600_000).toISOString(),
    expiresAt: new Date(now + 30 * 24 * 3600_000).toISOString(),
    ...opts.consent,
  };
  const own: number[] = [];
  const unrelated: number[] = [];
  let other = 0;
  const noise = (n: number) => {
    for (let i = 0; i < n; i++) {
      unrelated.push(log.append(refusalLeaf({ code: 'HOP_EXPIRED', message: 'hop hop_other is older than the window', applicationId: `app_other_${other++}` })));
    }
  };
  const spread = opts.unrelated ?? 4;
  noise(Math.min(1, spread));
  own.push(log.append(partyLeaf(world, PLATFORM)));
  own.push(log.append(partyLeaf(world, CHANNEL, opts.channelLicence ? { licence: opts.channelLicence } : {})));
  own.push(log.append(partyLeaf(world, BANK)));
  own.push(log.append({ type: 'consent', recordedAt: new Date().toISOString(), consent } satisfies ConsentLeaf));
  noise(Math.min(1, Math.max(0, spread - 1)));

  const salt = newSalt();
  const common = { applicationId, consentRef: consent.id, salt };
  const application = seal(world, world.platform, CHANNEL, { ...common, kind: 'application', fields: SAMPLE_FIELDS });
  own.push(log.append(hopLeaf(application)));
  own.push(log.append(receiptLeaf(world.channel, application)));
  const creditReport = seal(world, world.channel, BANK, {
    ...common,
    kind: 'credit_report',
    parentHopId: application.header.hopId,
    fields: opts.creditReportFields ?? CREDIT_REPORT_FIELDS,
    ...(opts.provenance?.creditReport ? { provenance: opts.provenance.creditReport } : {}),
  });
  own.push(log.append(hopLeaf(creditReport)));
  own.push(log.append(receiptLeaf(world.bank, creditReport)));
  noise(Math.min(1, Math.max(0, spread - 2)));
  const decision = seal(world, world.bank, PLATFORM, {
    ...common,
    kind: 'decision',
    parentHopId: creditReport.header.hopId,
    fields: { 'decision.status': 'approved', 'decision.limit': 5_000_000, 'decision.aprBasisPoints': 1800, 'decision.termMonths': 12 },
    outcome: { status: 'approved' },
    ...(opts.provenance?.decision ? { provenance: opts.provenance.decision } : {}),
  });
  own.push(log.append(hopLeaf(decision)));
  own.push(log.append(receiptLeaf(world.platform, decision)));
  own.push(log.append(refusalLeaf({ applicationId, hopId: 'hop_refused_1' })));
  noise(Math.max(0, spread - 3));
  return { world, log, applicationId, consent, hops: { application, creditReport, decision }, own, unrelated };
}

/** The application's bundle: its own leaves with proofs (or the whole log when complete). */
export function applicationBundle(flow: Flow, opts: { complete?: boolean; cosign?: boolean } = {}): EvidenceBundle {
  return flow.log.bundle(flow.world, {
    include: flow.own,
    complete: opts.complete ?? false,
    ...(opts.complete ? {} : { scope: { kind: 'application', applicationId: flow.applicationId } }),
    ...(opts.cosign === false ? { cosign: false } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// The personal-data lifecycle

export function consentStateLeaf(s: Omit<ConsentStateLeaf, 'type' | 'recordedAt'>): ConsentStateLeaf {
  return { type: 'consent_state', recordedAt: new Date().toISOString(), ...s };
}

export interface Notice {
  body: NoticeBody;
  signed: SignedNotice;
  leaf: NoticeLeaf;
}

/** A notice signed by `signer` (the router unless a test forges one). */
export function notice(signer: SigningIdentity, n: Parameters<typeof signNotice>[1]): Notice {
  const { body, signed } = signNotice(signer, n);
  return { body, signed, leaf: { type: 'notice', recordedAt: new Date().toISOString(), notice: signed.notice, signature: signed.signature } };
}

/** `by`'s signed answer to a notice: a receipt whose hopId is the notice id and headerDigest the notice's digest. */
export function acknowledgementLeaf(
  by: PartyIdentity,
  n: Notice,
  opts: { status?: 'accepted' | 'rejected'; digest?: string } = {},
): ReceiptLeaf {
  const status = opts.status ?? 'accepted';
  const digest = opts.digest ?? noticeDigest(fromB64url(n.signed.notice)!);
  const signed = signReceipt(by.signing, { hopId: n.body.noticeId, headerDigest: digest }, status, status === 'rejected' ? 'RETENTION_ELAPSED' : undefined);
  return { type: 'receipt', recordedAt: new Date().toISOString(), hopId: n.body.noticeId, receipt: signed.receipt, signature: signed.signature };
}

export function deletionLeaf(d: Omit<DeletionLeaf, 'type' | 'recordedAt'>): DeletionLeaf {
  return { type: 'deletion', recordedAt: new Date().toISOString(), ...d };
}

export const CREDIT_PRODUCT: Provenance = { name: 'BAIHANG-SCORE', version: '3.1' };
export const DECISION_MODEL: Provenance = { name: 'HZ-RETAIL-PD', version: '2026.11' };

export interface Lifecycle extends Flow {
  notices: { channel: Notice; bank: Notice };
  /** Log indices of the router's party leaf, the withdrawal, the notices, the acknowledgements and the deletion. */
  at: { router: number; withdrawal: number; notices: [number, number]; acknowledgements: [number, number]; deletion: number };
}

/**
 * A data-channel application (with decision provenance) whose consent the platform withdraws
 * after the decision: the router tells the channel and the bank, each acknowledges, and the
 * router erases the payloads of the three hops. Every lifecycle leaf is in `own`.
 */
export function lifecycleFlow(world: BundleWorld, opts: FlowOptions = {}, log = new TestLog()): Lifecycle {
  const flow = dataChannelFlow(world, { provenance: { creditReport: CREDIT_PRODUCT, decision: DECISION_MODEL }, ...opts }, log);
  const { hops, consent, applicationId } = flow;
  const add = (leaf: Leaf) => {
    const i = log.append(leaf);
    flow.own.push(i);
    return i;
  };
  const router = add(partyLeaf(world, ROUTER));
  const withdrawal = add(consentStateLeaf({ consentId: consent.id, state: 'withdrawn', by: PLATFORM, at: new Date().toISOString(), deviceDigest: b64url(Buffer.alloc(32, 7)) }));
  const common = { kind: 'consent_withdrawn' as const, applicationId, consentId: consent.id, reason: 'CONSENT_WITHDRAWN' as const };
  const toChannel = notice(world.router.signing, { ...common, to: CHANNEL, hops: [hops.application.header.hopId] });
  const toBank = notice(world.router.signing, { ...common, to: BANK, hops: [hops.creditReport.header.hopId] });
  const notices: [number, number] = [add(toChannel.leaf), add(toBank.leaf)];
  const acknowledgements: [number, number] = [add(acknowledgementLeaf(world.channel, toChannel)), add(acknowledgementLeaf(world.bank, toBank))];
  const deletion = add(deletionLeaf({ applicationId, reason: 'CONSENT_WITHDRAWN', hops: [hops.application, hops.creditReport, hops.decision].map((h) => h.header.hopId) }));
  return { ...flow, notices: { channel: toChannel, bank: toBank }, at: { router, withdrawal, notices, acknowledgements, deletion } };
}

/** The certificates a lifecycle bundle carries: the three parties' and the router's. */
export function lifecyclePems(world: BundleWorld): string[] {
  return [PLATFORM, CHANNEL, BANK, ROUTER].flatMap((id) => partyPems(world, id));
}

/** A lifecycle application's bundle, of `log` (the flow's own, or a rewritten copy of it). */
export function lifecycleBundle(flow: Flow, opts: { complete?: boolean; log?: TestLog } = {}): EvidenceBundle {
  return (opts.log ?? flow.log).bundle(flow.world, {
    include: flow.own,
    complete: opts.complete ?? false,
    certificates: lifecyclePems(flow.world),
    ...(opts.complete ? {} : { scope: { kind: 'application', applicationId: flow.applicationId } }),
  });
}
