/**
 * The offline verifier of an evidence bundle (dzl-evidence-bundle/v1, ../bundle.ts): what a
 * regulator runs with nothing but the bundle and its trust roots — the network CA, the router's
 * note key and the log's origin, and the witnesses' keys it chooses to require. One file per
 * stage, in report order (contracts/envelope.md §20.8); every failed check carries a stable code
 * (./codes.ts). verifyBundle never throws: every problem is a failed check.
 */
import type { Consent } from '../../consent/consent';
import type { CertificateInfo } from '../../pki/certificate';
import type { BundleScope } from '../bundle';
import { checkCertificates } from './certificates';
import { checkCheckpoint } from './checkpoint';
import { checkConsentStates, isClosed } from './consent';
import { checkDeletions } from './deletions';
import { provenanceOf, checkHops } from './hops';
import { checkAcknowledgements, checkNotices, noticeIdsOf } from './notices';
import { checkParties } from './parties';
import { checkReceipts } from './receipts';
import { listRefusals } from './refusals';
import { Registry } from './registry';
import { Checks, Progress } from './report';
import { checkNoDirectConnection, checkRouting, consentStatesOf, consentsOf } from './routing';
import { checkStructure } from './structure';
import { checkLeaves } from './tree';
import { createVerifierCache, isString, type Shape, type VerifiedHop, type VerifiedNotice, type VerifyInput, type VerifyReport, type VerifySummary } from './types';

export { CHECK_CODES, type CheckCode } from './codes';
export type { VerifyCheck } from './report';
export { createVerifierCache, type HopProvenance, type VerifierCache, type VerifyInput, type VerifyReport, type VerifySummary } from './types';

function emptySummary(): VerifySummary {
  return { leaves: 0, hops: 0, receipts: 0, refusals: 0, parties: 0, consents: 0, withdrawals: 0, expiries: 0, notices: 0, acknowledgements: 0, deletions: 0, provenance: [], witnessedBy: [] };
}

function reportOf(checks: Checks, summary: VerifySummary, scope?: BundleScope, treeSize?: number): VerifyReport {
  const failed = checks.list.filter((c) => !c.ok);
  return {
    ok: checks.list.length > 0 && failed.length === 0,
    ...(scope ? { scope } : {}),
    ...(treeSize !== undefined ? { treeSize } : {}),
    checks: checks.list,
    failures: failed.map((c) => c.reason ?? c.check),
    codes: failed.map((c) => c.code),
    summary,
  };
}

export function verifyBundle(input: VerifyInput): VerifyReport {
  const checks = new Checks();
  const summary = emptySummary();
  let scope: BundleScope | undefined;
  let treeSize: number | undefined;
  try {
    const caPem = isString(input?.caPem) ? input.caPem : '';
    const roots = {
      routerVkey: isString(input?.routerVkey) ? input.routerVkey : '',
      origin: isString(input?.origin) ? input.origin : '',
      witnessVkeys: Array.isArray(input?.requireWitnesses) ? input.requireWitnesses.map((w) => (isString(w) ? w : '')) : [],
    };
    const cache = input?.cache ?? createVerifierCache();

    // (a) structure
    const shape: Shape = checks.guard('structure', () => checkStructure(input?.bundle, checks)) ?? { complete: false, leaves: [], leafEntries: 0, certificates: [] };
    scope = shape.scope;
    summary.leaves = shape.leafEntries;
    // three passes over the leaves: proofs (or the root), decoding, then the content checks
    const progress = new Progress(3 * shape.leafEntries, input?.onProgress);

    // (b) checkpoint
    const cp = checks.guard('checkpoint', () => checkCheckpoint(shape.checkpoint, roots, checks));
    summary.witnessedBy = cp?.witnessedBy ?? [];
    treeSize = cp?.checkpoint?.size;

    // (c) inclusion in the tree, leaf formats
    const leaves = checks.guard('leaves', () => checkLeaves(shape, cp?.checkpoint, checks, progress)) ?? [];

    // (d) certificates, (e) party leaves: the registry as of each leaf
    const certs = checks.guard('certificates', () => checkCertificates(shape, caPem, cache, checks)) ?? new Map<string, CertificateInfo>();
    const registry = new Registry(caPem, cache, checks);
    checks.guard('party leaves', () => checkParties(leaves, certs, registry, checks, progress));
    summary.parties = registry.partyCount;

    // (f) hops, (g) receipts
    const hops = checks.guard('hops', () => checkHops(leaves, scope, registry, checks, progress)) ?? new Map<string, VerifiedHop>();
    summary.hops = hops.size;
    summary.provenance = provenanceOf(hops);
    const receipts = checks.guard('receipts', () => checkReceipts(leaves, hops, noticeIdsOf(leaves), registry, checks, progress));
    summary.receipts = receipts?.count ?? 0;
    summary.acknowledgements = receipts?.acknowledgements.length ?? 0;

    // (h) routing under each consent as it stood, (i) the direct-connection audit
    const consents = checks.guard('consents', () => consentsOf(leaves, checks)) ?? new Map<string, Consent>();
    summary.consents = leaves.filter((l) => l.leaf.type === 'consent').length;
    const states = consentStatesOf(leaves);
    const changes = [...states.values()].flat();
    summary.withdrawals = changes.filter((s) => s.leaf.state === 'withdrawn').length;
    summary.expiries = changes.length - summary.withdrawals;
    checks.guard('routing', () => checkRouting(hops, consents, states, registry, checks));
    if (shape.complete) checks.guard('direct connection', () => checkNoDirectConnection(hops, registry, checks));
    summary.refusals = checks.guard('refusals', () => listRefusals(leaves, checks)) ?? 0;

    // (l) consent state, (m) notices, (n) acknowledgements, (o) erasure
    const closed = isClosed(scope, shape.complete);
    checks.guard('consent state', () => checkConsentStates(states, consents, closed, registry, checks, progress));
    const notices = checks.guard('notices', () => checkNotices(leaves, { scope, closed, hops, consents, states, registry }, checks, progress)) ?? new Map<string, VerifiedNotice>();
    summary.notices = leaves.filter((l) => l.leaf.type === 'notice').length;
    checks.guard('acknowledgements', () => checkAcknowledgements(receipts?.acknowledgements ?? [], notices, registry, checks, progress));
    summary.deletions = checks.guard('deletions', () => checkDeletions(leaves, scope, closed, hops, checks, progress)) ?? 0;
    progress.finish();
  } catch (err) {
    checks.fail('VERIFIER_ERROR', 'verifier', `verifier error: ${err instanceof Error ? err.message : String(err)}`);
  }
  return reportOf(checks, summary, scope, treeSize);
}
