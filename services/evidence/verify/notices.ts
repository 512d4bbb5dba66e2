/**
 * (m) The router's signed notices — of the notice format (../notice.ts, the check the parties
 * apply too), signed by the router, about hops their addressee received — and (n) the
 * addressees' acknowledgements of them.
 */
import type { Consent } from '../../consent/consent';
import { fromB64url } from '../../seal/bytes';
import { parseCanonical } from '../../seal/canonical';
import { verifyReceipt, type ReceiptBody } from '../../seal/receipt';
import type { BundleScope } from '../bundle';
import type { NoticeLeaf } from '../leaves';
import { noticeDigest, verifyNotice } from '../lifecycle';
import { checkNoticeBody, type NoticeBody } from '../notice';
import { roleOf, type Registry } from './registry';
import { explain, type Checks, type Progress } from './report';
import { isObject, isString, leavesOfType, type DecodedLeaf, type StateChange, type VerifiedHop, type VerifiedNotice } from './types';

/** The ids the notice leaves claim, read without checking, so that receipts can be sorted (g) before notices are checked (m). */
export function noticeIdsOf(leaves: DecodedLeaf[]): Set<string> {
  const ids = new Set<string>();
  for (const { leaf } of leavesOfType(leaves, 'notice')) {
    const bytes = fromB64url(leaf.notice);
    const body = bytes ? parseCanonical(bytes) : undefined;
    if (isObject(body) && isString(body.noticeId)) ids.add(body.noticeId);
  }
  return ids;
}

export interface NoticeContext {
  scope: BundleScope | undefined;
  closed: boolean;
  hops: Map<string, VerifiedHop>;
  consents: Map<string, Consent>;
  states: Map<string, StateChange[]>;
  registry: Registry;
}

export function checkNotices(leaves: DecodedLeaf[], ctx: NoticeContext, checks: Checks, progress: Progress): Map<string, VerifiedNotice> {
  const mark = checks.list.length;
  const notices = new Map<string, VerifiedNotice>();
  const all = leavesOfType(leaves, 'notice');
  for (const { index, leaf } of all) {
    progress.advance();
    const bytes = fromB64url(leaf.notice);
    if (!bytes || !fromB64url(leaf.signature)) {
      checks.fail('NOTICE_ENCODING_INVALID', 'notice', `leaf ${index}: NOTICE_INVALID — notice or signature is not canonical base64url`, index);
      continue;
    }
    const checked = checkNoticeBody(bytes);
    if (!checked.ok) {
      checks.fail('NOTICE_MALFORMED', 'notice', `leaf ${index}: NOTICE_INVALID — ${checked.reason}`, index);
      continue;
    }
    const body = checked.body;
    const label = `leaf ${index} (notice ${body.noticeId} to ${body.to})`;
    const earlier = notices.get(body.noticeId);
    if (earlier) {
      checks.fail('NOTICE_DUPLICATE', 'notice', `${label}: notice id already recorded at leaf ${earlier.index}`, index);
      continue;
    }
    if (ctx.hops.has(body.noticeId)) {
      checks.fail('NOTICE_ID_IS_HOP', 'notice', `${label}: notice id is also the id of hop leaf ${ctx.hops.get(body.noticeId)!.index}; a receipt could not say which it acknowledges`, index);
      continue;
    }
    notices.set(body.noticeId, { index, body, digest: noticeDigest(bytes) });
    if (ctx.scope?.kind === 'application' && body.applicationId !== ctx.scope.applicationId) {
      checks.fail('NOTICE_OUT_OF_SCOPE', 'notice scope', `${label}: belongs to application ${body.applicationId}, outside the bundle's scope ${ctx.scope.applicationId}`, index);
    }
    checkNoticeSignature(index, label, leaf, body, ctx.registry, checks);
    if (ctx.closed) checkNoticeSubject(index, label, body, ctx, checks);
  }
  if (all.length > 0 && checks.failuresSince(mark) === 0) {
    checks.pass('notice', `${all.length} notices signed by the router, each naming hops its addressee received`);
  }
  return notices;
}

function checkNoticeSignature(index: number, label: string, l: NoticeLeaf, body: NoticeBody, registry: Registry, checks: Checks): void {
  const dir = registry.asOf(index);
  if (!dir) {
    checks.fail('NOTICE_NO_REGISTRY', 'notice signature', `${label}: no registry to verify the router against`, index);
    return;
  }
  const role = roleOf(dir, body.by);
  if (role !== 'router') {
    checks.fail('NOTICE_NOT_BY_ROUTER', 'notice signature', `${label}: NOTICE_INVALID — signed by ${body.by}, ${role ? `a ${role}` : 'not a party in the registry'}; only the router signs notices`, index);
    return;
  }
  if (!dir.party(body.to)) checks.fail('NOTICE_ADDRESSEE_UNKNOWN', 'notice signature', `${label}: addressed to ${body.to}, not a party in the registry as of this leaf`, index);
  try {
    verifyNotice({ notice: l.notice, signature: l.signature }, { by: body.by, to: body.to }, dir.signerOf);
  } catch (err) {
    checks.fail('NOTICE_SIGNATURE_INVALID', 'notice signature', `${label}: ${explain(err)}`, index, err);
  }
}

/** What a notice refers to is in a bundle that holds all of it: its consent, its hops, the withdrawal it passes on. */
function checkNoticeSubject(index: number, label: string, body: NoticeBody, ctx: NoticeContext, checks: Checks): void {
  if (!ctx.consents.has(body.consentId)) checks.fail('NOTICE_CONSENT_MISSING', 'notice', `${label}: no consent leaf for ${body.consentId} in the bundle`, index);
  for (const hopId of body.hops) {
    const hop = ctx.hops.get(hopId);
    if (!hop) checks.fail('NOTICE_HOP_MISSING', 'notice', `${label}: names hop ${hopId}, which is not in the bundle`, index);
    else if (hop.header.applicationId !== body.applicationId) checks.fail('NOTICE_HOP_MISMATCH', 'notice', `${label}: names hop ${hopId} of application ${hop.header.applicationId}, not ${body.applicationId}`, index);
    else if (hop.header.to !== body.to) checks.fail('NOTICE_HOP_MISMATCH', 'notice', `${label}: names hop ${hopId}, which went to ${hop.header.to}, not to ${body.to}`, index);
  }
  // The withdrawal may be of the application's consent or, in the redirect model, of the bank's own consent for it.
  const concerns = (consentId: string) => consentId === body.consentId || ctx.consents.get(consentId)?.applicationId === body.applicationId;
  const withdrawn = [...ctx.states.values()].flat().some((s) => s.index < index && s.leaf.state === 'withdrawn' && concerns(s.leaf.consentId));
  if (body.kind === 'consent_withdrawn' && !withdrawn) {
    checks.fail(
      'NOTICE_WITHOUT_WITHDRAWAL',
      'notice',
      `${label}: tells of a withdrawal, but no earlier consent_state leaf withdraws consent ${body.consentId} or a consent of application ${body.applicationId}`,
      index,
    );
  }
}

export interface AcknowledgementsResult {
  count: number;
  accepted: number;
}

/** Receipts naming a notice: signed by the notice's addressee over the notice's digest. They show no field seen. */
export function checkAcknowledgements(acks: DecodedLeaf[], notices: Map<string, VerifiedNotice>, registry: Registry, checks: Checks, progress: Progress): AcknowledgementsResult {
  const out: AcknowledgementsResult = { count: 0, accepted: 0 };
  if (acks.length === 0 && notices.size === 0) return out;
  const mark = checks.list.length;
  const acknowledged = new Set<string>();
  for (const { index, leaf } of leavesOfType(acks, 'receipt')) {
    out.count++;
    progress.advance();
    const label = `leaf ${index} (acknowledgement of notice ${leaf.hopId})`;
    const notice = notices.get(leaf.hopId);
    if (!notice) {
      checks.fail('ACKNOWLEDGEMENT_NOTICE_UNVERIFIED', 'acknowledgement', `${label}: the notice's own leaf did not pass its checks, so there is nothing to match`, index);
      continue;
    }
    const dir = registry.asOf(index);
    if (!dir) {
      checks.fail('ACKNOWLEDGEMENT_NO_REGISTRY', 'acknowledgement', `${label}: no registry to verify ${notice.body.to} against`, index);
      continue;
    }
    let body: ReceiptBody;
    try {
      body = verifyReceipt({ receipt: leaf.receipt, signature: leaf.signature }, { hopId: notice.body.noticeId, headerDigest: notice.digest, by: notice.body.to }, dir.signerOf).body;
    } catch (err) {
      checks.fail('ACKNOWLEDGEMENT_INVALID', 'acknowledgement', `${label}: ${explain(err)}`, index, err);
      continue;
    }
    acknowledged.add(notice.body.noticeId);
    if (body.status === 'accepted') out.accepted++;
  }
  if (checks.failuresSince(mark) === 0) {
    const pending = notices.size - acknowledged.size;
    checks.pass(
      'acknowledgement',
      `${out.count} acknowledgements signed by the parties notified (${out.accepted} accepted, ${out.count - out.accepted} rejected); ${pending} of ${notices.size} notices not acknowledged in the bundle`,
    );
  }
  return out;
}
