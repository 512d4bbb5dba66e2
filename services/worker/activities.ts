/**
 * Activities: the only place sealed hops move. Each is idempotent on the hop id — a retry after
 * a crash finds the hop already in custody and the receipt already in the ledger, and the
 * parties answer a redelivered hop with their stored answer — so a crash anywhere repeats nothing.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { DzlError, isErrorCode } from '../common/errors';
import type { Logger } from '../common/logger';
import { getConsentOrFail } from './lookups';
import { recordDeletion, recordNotice, recordReceipt, recordRefusal } from '../ledger/ledger';
import { noticeDigest, signNotice, type NoticeKind, type NoticeReason, type SignedNotice } from '../evidence/lifecycle';
import { checkConsentCovers, withdrawnFor } from '../consent/consent';
import { applicationsToStop, recordWithdrawal, type StopPlan } from '../consent/registry';
import { createHash } from 'node:crypto';
import { insertIgnore } from '../store/db';
import { fromGrpcError, hopFromWire, hopToWire, receiptFromWire, unaryCall, type WireHop, type WireReceipt } from '../grpc/transport';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import { admitHop, type CarrierDeps } from '../router/carrier';
import { decodeHop, RELAYED_MAX_AGE_MS, type DecisionOutcome, type HopKind } from '../seal/hop';
import { verifyReceipt } from '../seal/receipt';
import { signRequest } from '../seal/requestSignature';
import type { NonceStore } from '../seal/replay';
import { appendState, erasePayloads, getApplication, getConsent, getSealedHop, recipientsOf, type ApplicationRow, type StoredHop } from '../store/applications';
import { fromB64url } from '../seal/bytes';
import type { Db } from '../store/db';
import type { PartyClients } from './partyClients';

export interface ActivityDeps {
  db: Db;
  directory: () => NetworkDirectory;
  nonces: NonceStore;
  router: PartyIdentity;
  parties: PartyClients;
  log: Logger;
  deliveryTimeoutMs?: number;
  /** The longest the retention sweeper sleeps between sweeps (it wakes sooner when one is due). */
  retentionSweepMs?: number;
}

export interface WithdrawalRequest {
  consentId: string;
  by: string;
  recipients?: string[];
  actedAt: string;
  deviceDigest?: string;
}

export interface HopRef {
  applicationId: string;
  hopId: string;
}

export type StepResult =
  | { status: 'forwarded'; nextHopId: string }
  | { status: 'refused'; code: string; stage: string };

export type DecisionResult =
  | { status: 'decided'; nextHopId: string; outcome: DecisionOutcome }
  | { status: 'delivered' }
  | { status: 'refused'; code: string; stage: string };

interface PartyAnswer {
  receipt?: WireReceipt;
  next?: WireHop;
}

export function createActivities(deps: ActivityDeps) {
  // Answers come back at once, but a redelivery after a crash may return one sealed long ago.
  const carrier: CarrierDeps = { db: deps.db, directory: deps.directory, nonces: deps.nonces, maxAgeMs: RELAYED_MAX_AGE_MS };
  const timeout = deps.deliveryTimeoutMs ?? 10_000;

  async function load(ref: HopRef): Promise<{ app: ApplicationRow; sealed: NonNullable<Awaited<ReturnType<typeof getSealedHop>>> }> {
    const app = await getApplication(deps.db, ref.applicationId);
    const sealed = await getSealedHop(deps.db, ref.hopId);
    if (!app || !sealed) throw ApplicationFailure.nonRetryable(`application ${ref.applicationId} or hop ${ref.hopId} is not in the store`, 'APPLICATION_NOT_FOUND');
    return { app, sealed };
  }

  async function refuse(app: ApplicationRow, stage: string, refusedBy: string, err: DzlError, hopId?: string, applicationLevel = true) {
    await recordRefusal(deps.db, {
      code: err.code,
      message: err.message,
      stage,
      refusedBy,
      applicationId: app.id,
      ...(hopId ? { hopId } : {}),
      dedupKey: `refusal:${app.id}:${stage}:${hopId ?? ''}`,
    });
    if (applicationLevel) await appendState(deps.db, app.id, { state: 'refused', reasonCode: err.code, ...(hopId ? { hopId } : {}) });
    deps.log.warn({ applicationId: app.id, stage, code: err.code }, 'hop refused');
    return { status: 'refused' as const, code: err.code, stage };
  }

  /**
   * Hands a hop in custody to its recipient, records the recipient's receipt, and takes
   * custody of the hop it answers with. Transport failures throw, so Temporal retries.
   */
  async function deliver(
    ref: HopRef,
    stage: string,
    call: (app: ApplicationRow, hop: WireHop, stored: StoredHop) => Promise<PartyAnswer>,
    nextKind: HopKind,
    nextTo: (app: ApplicationRow) => string,
    opts: { applicationLevel: boolean; answerOptional: boolean },
  ) {
    const { app, sealed } = await load(ref);
    const refuseHere = (by: string, err: DzlError, hopId?: string) => refuse(app, stage, by, err, hopId, opts.applicationLevel);
    const hop = decodeHop(sealed.sealed);
    // consent is checked again at the moment of delivery: it may have been withdrawn since custody
    const consent = await getConsentOrFail(deps.db, app);
    if (hop.header.kind !== 'decision' && hop.header.kind !== 'disbursement') {
      try {
        checkConsentCovers(consent, sealed.to, new Date());
      } catch (err) {
        if (err instanceof DzlError) return refuseHere('router', err, ref.hopId);
        throw err;
      }
    }
    let answer: PartyAnswer;
    try {
      answer = await call(app, hopToWire(sealed.sealed), sealed);
    } catch (err) {
      const refused = fromGrpcError(err);
      if (refused) return refuseHere(sealed.to, refused, ref.hopId);
      throw err; // unavailable, deadline: retry
    }
    let receipt;
    try {
      receipt = verifyReceipt(receiptFromWire(answer.receipt), { hopId: ref.hopId, headerDigest: hop.headerDigest, by: sealed.to }, deps.directory().signerOf);
    } catch (err) {
      if (err instanceof DzlError) return refuseHere('router', err, ref.hopId);
      throw err;
    }
    await recordReceipt(deps.db, app.id, receipt);
    if (receipt.body.status === 'rejected') {
      const reason = receipt.body.reason;
      const code = isErrorCode(reason) ? reason : 'ROUTE_NOT_ALLOWED';
      return refuseHere(sealed.to, new DzlError(code, `${sealed.to} rejected hop ${ref.hopId}: ${reason ?? 'no reason given'}`), ref.hopId);
    }
    if (!answer.next && opts.answerOptional) return { accepted: true as const };
    // (a withdrawal since the check above is caught when the answer is taken into custody)
    try {
      const admitted = await admitHop(carrier, hopFromWire(answer.next), consent, {
        kind: nextKind,
        from: sealed.to,
        to: nextTo(app),
        applicationId: app.id,
        parentHopId: ref.hopId,
      });
      return { admitted };
    } catch (err) {
      if (err instanceof DzlError) return refuse(app, `${stage}:answer`, 'router', err, undefined, opts.applicationLevel);
      throw err;
    }
  }

  /** A signed POST to a platform's callback URL; throws (so Temporal retries) unless it answers 200. */
  async function callBack(url: string, message: object): Promise<{ receipt?: unknown }> {
    const body = Buffer.from(JSON.stringify(message));
    const u = new URL(url);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: signRequest(deps.router.signing, 'POST', u.pathname + u.search, body) },
      body,
      signal: AbortSignal.timeout(timeout),
    });
    if (!res.ok) throw new Error(`platform callback answered HTTP ${res.status}`);
    return (await res.json()) as { receipt?: unknown };
  }

  /** Erases the sealed payloads, records the deletion, once per application whoever asks. */
  async function purge(applicationId: string, reason: NoticeReason): Promise<void> {
    await deps.db.transaction(async (trx) => {
      const hops = await erasePayloads(trx, applicationId);
      await recordDeletion(trx, { applicationId, reason, hops });
      await appendState(trx, applicationId, { state: 'payloads_erased', reasonCode: reason });
      await trx('applications').where({ id: applicationId }).whereNull('payloads_erased_at').update({ payloads_erased_at: Date.now() });
    });
    deps.log.info({ applicationId, reason }, 'sealed payloads erased');
  }

  return {
    async deliverToChannel(ref: HopRef & { bankId: string }): Promise<StepResult> {
      const r = await deliver(
        ref,
        'platform→channel',
        (app, hop) =>
          unaryCall<object, { receipt?: WireReceipt; bank_hop?: WireHop }>(deps.parties.channel(app.channelId), 'ProcessApplication', { hop, bank_id: ref.bankId }, timeout).then((res) => ({
            ...(res.receipt ? { receipt: res.receipt } : {}),
            ...(res.bank_hop ? { next: res.bank_hop } : {}),
          })),
        'credit_report',
        () => ref.bankId,
        { applicationLevel: true, answerOptional: false },
      );
      if (!('admitted' in r) || !r.admitted) return r as StepResult;
      const nextHopId = r.admitted.hop.header.hopId;
      await appendState(deps.db, ref.applicationId, { state: 'credit_report_sealed', hopId: nextHopId });
      return { status: 'forwarded', nextHopId };
    },

    /** The channel's report of an application it holds, sealed for the next bank of the cascade. */
    async requestCreditReport(ref: { applicationId: string; applicationHopId: string; bankId: string }): Promise<StepResult> {
      const app = await getApplication(deps.db, ref.applicationId);
      if (!app) throw ApplicationFailure.nonRetryable(`application ${ref.applicationId} is not in the store`, 'APPLICATION_NOT_FOUND');
      let res: { bank_hop?: WireHop };
      let consent;
      try {
        // the next bank must be named and not withdrawn before the channel works on its report
        consent = await getConsentOrFail(deps.db, app);
        checkConsentCovers(consent, ref.bankId, new Date());
        res = await unaryCall(deps.parties.channel(app.channelId), 'ReportToBank', { application_id: app.id, application_hop_id: ref.applicationHopId, bank_id: ref.bankId }, timeout);
      } catch (err) {
        if (err instanceof DzlError) return refuse(app, `channel→${ref.bankId}`, 'router', err, undefined, false);
        const refused = fromGrpcError(err);
        if (refused) return refuse(app, `channel→${ref.bankId}`, app.channelId, refused, undefined, false);
        throw err;
      }
      try {
        const admitted = await admitHop(carrier, hopFromWire(res.bank_hop), consent, {
          kind: 'credit_report',
          from: app.channelId,
          to: ref.bankId,
          applicationId: app.id,
          parentHopId: ref.applicationHopId,
        });
        return { status: 'forwarded', nextHopId: admitted.hop.header.hopId };
      } catch (err) {
        if (err instanceof DzlError) return refuse(app, `channel→${ref.bankId}:answer`, 'router', err, undefined, false);
        throw err;
      }
    },

    async deliverToBank(ref: HopRef): Promise<DecisionResult> {
      const r = await deliver(
        ref,
        'channel→bank',
        async (app, hop, stored) => {
          // counted against the bank's daily quota from the moment it is delivered
          await deps.db('application_attempts').where({ application_id: app.id, bank_id: stored.to }).whereNull('delivered_at').update({ delivered_at: Date.now() });
          const res = await unaryCall<object, { receipt?: WireReceipt; decision_hop?: WireHop }>(deps.parties.bank(stored.to), 'DeliverCreditReport', { hop }, timeout);
          return { ...(res.receipt ? { receipt: res.receipt } : {}), ...(res.decision_hop ? { next: res.decision_hop } : {}) };
        },
        'decision',
        (a) => a.platformId,
        { applicationLevel: false, answerOptional: true },
      );
      if ('accepted' in r) return { status: 'delivered' };
      if (!('admitted' in r) || !r.admitted) return r as DecisionResult;
      const { hopId: nextHopId, outcome, from } = r.admitted.hop.header;
      // a decision that came with the delivery is recorded here, saving the workflow a step
      await deps.db('application_attempts')
        .where({ application_id: ref.applicationId, bank_id: from })
        .update({ outcome: outcome!.status, reason_code: outcome!.reasonCode ?? null, hop_id: nextHopId, decided_at: Date.now() });
      return { status: 'decided', nextHopId, outcome: outcome! };
    },

    /** platform → bank in the redirect model: the token hop, answered with the bank's receipt only. */
    async deliverRedirect(ref: HopRef): Promise<{ status: 'delivered' } | { status: 'refused'; code: string; stage: string }> {
      const r = await deliver(
        ref,
        'platform→bank (redirect)',
        (_app, hop, stored) => unaryCall<object, { receipt?: WireReceipt }>(deps.parties.bank(stored.to), 'DeliverRedirect', { hop }, timeout).then((res) => (res.receipt ? { receipt: res.receipt } : {})),
        'redirect',
        (a) => a.bankId,
        { applicationLevel: true, answerOptional: true },
      );
      return 'accepted' in r ? { status: 'delivered' } : (r as { status: 'refused'; code: string; stage: string });
    },

    /** Each bank's outcome in the cascade (approved, declined, timeout, refused). */
    async recordAttempt(a: { applicationId: string; bankId: string; position: number; outcome: string; reasonCode?: string; hopId?: string }): Promise<void> {
      await deps.db('application_attempts')
        .where({ application_id: a.applicationId, bank_id: a.bankId })
        .update({ position: a.position, outcome: a.outcome, reason_code: a.reasonCode ?? null, hop_id: a.hopId ?? null, decided_at: Date.now() });
    },

    /** The platform's signed receipt for a disbursement hop, by callback. */
    async notifyDisbursement(ref: HopRef): Promise<void> {
      const app = await getApplication(deps.db, ref.applicationId);
      const sealed = await getSealedHop(deps.db, ref.hopId);
      if (!app || !sealed) throw ApplicationFailure.nonRetryable(`disbursement ${ref.hopId} of ${ref.applicationId} is not in the store`, 'APPLICATION_NOT_FOUND');
      if (!app.callbackUrl) return;
      const answer = await callBack(app.callbackUrl, { applicationId: app.id, outcome: 'disbursed', hop: sealed.sealed });
      const receipt = verifyReceipt(answer.receipt, { hopId: sealed.hopId, headerDigest: decodeHop(sealed.sealed).headerDigest, by: app.platformId }, deps.directory().signerOf);
      await recordReceipt(deps.db, app.id, receipt);
    },

    /** Signed callback to the platform, retried (by Temporal) until it answers with a valid receipt. */
    async notifyPlatform(ref: { applicationId: string; hopId?: string; final: 'approved' | 'declined' | 'no_funding' | 'expired' | 'withdrawn'; reasonCode?: string }): Promise<void> {
      const app = await getApplication(deps.db, ref.applicationId);
      if (!app) throw ApplicationFailure.nonRetryable(`application ${ref.applicationId} is not in the store`, 'APPLICATION_NOT_FOUND');
      await appendState(deps.db, app.id, { state: ref.final, ...(ref.hopId ? { hopId: ref.hopId } : {}), ...(ref.reasonCode ? { reasonCode: ref.reasonCode } : {}) });
      if (!app.callbackUrl) return;
      const sealed = ref.hopId ? await getSealedHop(deps.db, ref.hopId) : undefined;
      const answer = await callBack(app.callbackUrl, { applicationId: app.id, outcome: ref.final, ...(ref.reasonCode ? { reasonCode: ref.reasonCode } : {}), ...(sealed ? { hop: sealed.sealed } : {}) });
      if (!sealed) {
        await appendState(deps.db, app.id, { state: 'platform_notified' });
        return;
      }
      const receipt = verifyReceipt(answer.receipt, { hopId: sealed.hopId, headerDigest: decodeHop(sealed.sealed).headerDigest, by: app.platformId }, deps.directory().signerOf);
      await recordReceipt(deps.db, app.id, receipt);
      if (receipt.body.status === 'rejected') {
        // Redelivering the same bytes cannot change the platform's verdict: record it and stop.
        const reason = receipt.body.reason;
        await refuse(app, 'bank→platform', app.platformId, new DzlError(isErrorCode(reason) ? reason : 'ROUTE_NOT_ALLOWED', `${app.platformId} rejected decision hop ${sealed.hopId}: ${reason ?? 'no reason given'}`), sealed.hopId, false);
        await appendState(deps.db, app.id, { state: 'platform_rejected_decision', hopId: sealed.hopId, ...(reason ? { reasonCode: reason } : {}) });
        return;
      }
      await appendState(deps.db, app.id, { state: 'platform_notified', hopId: sealed.hopId });
    },

    /**
     * The channels and banks the application's hops went to: who holds its data. Known by the hop
     * kinds (which the routing rules tie to roles), so a party since removed from the registry
     * is still asked.
     */
    async holdersOf(ref: { applicationId: string }): Promise<string[]> {
      return recipientsOf(deps.db, ref.applicationId, ['application', 'credit_report', 'redirect']);
    },

    /** A withdrawal, recorded (once, whoever asks again), and what it stops. */
    async recordConsentWithdrawal(w: WithdrawalRequest): Promise<StopPlan[]> {
      const consent = await getConsent(deps.db, w.consentId);
      if (!consent) throw ApplicationFailure.nonRetryable(`consent ${w.consentId} is not in the store`, 'CONSENT_NOT_FOUND');
      await recordWithdrawal(deps.db, consent, w);
      return applicationsToStop(deps.db, consent, w.recipients);
    },

    /** The evidence of a notice a party left unacknowledged through every retry. */
    async recordUnacknowledged(ref: { applicationId: string; kind: NoticeKind; parties: string[] }): Promise<void> {
      for (const party of ref.parties) {
        await recordRefusal(deps.db, {
          code: 'NOTICE_UNACKNOWLEDGED',
          message: `${party} did not acknowledge the ${ref.kind} notice for ${ref.applicationId} within 30 days of retries`,
          stage: `notice:${ref.kind}`,
          refusedBy: party,
          applicationId: ref.applicationId,
          to: party,
          dedupKey: `refusal:unacknowledged:${ref.applicationId}:${ref.kind}:${party}`,
        });
        deps.log.error({ applicationId: ref.applicationId, to: party, kind: ref.kind }, 'notice never acknowledged');
      }
    },

    /**
     * The router's signed notice to a party holding the application's data, until the party
     * acknowledges it with a signed receipt. The notice is signed once and stored: every retry
     * sends the same bytes, so the evidence holds one notice and its one acknowledgement.
     */
    async sendNotice(ref: { applicationId: string; to: string; kind: NoticeKind; reason: NoticeReason }): Promise<void> {
      const app = await getApplication(deps.db, ref.applicationId);
      if (!app) throw ApplicationFailure.nonRetryable(`application ${ref.applicationId} is not in the store`, 'APPLICATION_NOT_FOUND');
      const noticeId = `ntc-${createHash('sha256').update(`${app.id}\n${ref.to}\n${ref.kind}`).digest('hex').slice(0, 40)}`;
      let row = await deps.db('notices').where({ notice_id: noticeId }).first();
      if (!row) {
        // a withdrawal for some recipients stops the whole application: a party whose own consent
        // still stands is told to delete the stopped application's data, not that consent ended
        let kind = ref.kind;
        if (kind === 'consent_withdrawn') {
          const consent = await getConsentOrFail(deps.db, app);
          if (!withdrawnFor(consent, ref.to)) kind = 'delete_data';
        }
        const hops = (await deps.db('sealed_hops').where({ application_id: app.id, to_party: ref.to }).orderBy('created_at').select('hop_id')).map((r) => r.hop_id as string);
        const { body, signed } = signNotice(deps.router.signing, { noticeId, kind, applicationId: app.id, consentId: app.consentId, to: ref.to, hops, reason: ref.reason });
        await deps.db.transaction(async (trx) => {
          if (await insertIgnore(trx, 'notices', { notice_id: noticeId, application_id: app.id, to_party: ref.to, kind, signed: JSON.stringify(signed), created_at: Date.now() }, 'notice_id')) {
            await recordNotice(trx, body, signed);
          }
        });
        row = await deps.db('notices').where({ notice_id: noticeId }).first();
      }
      if (row.acknowledged_at) return;
      const signed = JSON.parse(row.signed as string) as SignedNotice;
      const role = deps.directory().party(ref.to)?.role;
      const client = role === 'channel' ? deps.parties.channel(ref.to) : deps.parties.bank(ref.to);
      const res = await unaryCall<object, { receipt?: WireReceipt }>(client, 'ReceiveNotice', { notice: { notice: fromB64url(signed.notice), signature: fromB64url(signed.signature) } }, timeout);
      const receipt = verifyReceipt(receiptFromWire(res.receipt), { hopId: noticeId, headerDigest: noticeDigest(fromB64url(signed.notice)!), by: ref.to }, deps.directory().signerOf);
      if (receipt.body.status !== 'accepted') {
        // recorded once; asked again (a party that cannot act on a notice must be made to)
        await recordRefusal(deps.db, { code: isErrorCode(receipt.body.reason) ? receipt.body.reason : 'NOTICE_INVALID', message: `${ref.to} rejected notice ${noticeId}: ${receipt.body.reason ?? 'no reason given'}`, stage: `notice:${ref.kind}`, refusedBy: ref.to, applicationId: app.id, to: ref.to, dedupKey: `refusal:notice:${noticeId}` });
        throw new Error(`${ref.to} rejected notice ${noticeId} (${receipt.body.reason ?? 'no reason'}); asking again`);
      }
      await recordReceipt(deps.db, app.id, receipt);
      await deps.db('notices').where({ notice_id: noticeId }).update({ acknowledged_at: Date.now() });
      deps.log.info({ applicationId: app.id, to: ref.to, kind: ref.kind }, 'notice acknowledged');
    },

    /** Erases now (a withdrawal): the sealed payloads go, the signed headers (the evidence) stay. */
    async purgeApplication(ref: { applicationId: string; reason: NoticeReason }): Promise<void> {
      await purge(ref.applicationId, ref.reason);
    },

    /** The outcome sets the retention; the sweeper acts on it. */
    async setRetention(r: { applicationId: string; retainMs: number; reason: NoticeReason }): Promise<void> {
      await deps.db('applications')
        .where({ id: r.applicationId })
        .whereNull('retain_until')
        .update({ retain_until: Date.now() + r.retainMs, retention_reason: r.reason });
    },

    /**
     * One sweep: erases every application whose retention elapsed (oldest first, `limit` at a
     * time), and names those whose parties are still to be asked to delete — including any a
     * crashed sweep erased without handing on. Says how long to sleep until the next one is due.
     */
    async sweepRetention(ref: { limit: number }): Promise<{ askParties: { applicationId: string; reason: NoticeReason }[]; sleepMs: number }> {
      const now = Date.now();
      const due = await deps.db('applications').where('retain_until', '<=', now).whereNull('payloads_erased_at').orderBy('retain_until').limit(ref.limit).select('id', 'retention_reason');
      for (const a of due) await purge(a.id as string, a.retention_reason as NoticeReason);
      const ask = await deps.db('applications')
        .whereNotNull('payloads_erased_at')
        // a loan's bank keeps its loan; a withdrawn application's parties were asked already
        .whereNotIn('retention_reason', ['RETENTION_ELAPSED', 'CONSENT_WITHDRAWN'])
        .whereNull('party_deletion_started_at')
        .limit(ref.limit)
        .select('id', 'retention_reason');
      const next = await deps.db('applications').whereNull('payloads_erased_at').whereNotNull('retain_until').min({ at: 'retain_until' }).first();
      const nextAt = next?.at === null || next?.at === undefined ? Infinity : Number(next.at);
      const maxSleep = deps.retentionSweepMs ?? 60_000;
      const sleepMs = due.length === ref.limit ? 0 : Math.max(50, Math.min(maxSleep, nextAt - now));
      return { askParties: ask.map((a) => ({ applicationId: a.id as string, reason: a.retention_reason as NoticeReason })), sleepMs };
    },

    /** The sweeper handed these applications to their deletion workflows. */
    async markPartyDeletionStarted(ref: { applicationIds: string[] }): Promise<void> {
      if (ref.applicationIds.length > 0) await deps.db('applications').whereIn('id', ref.applicationIds).whereNull('party_deletion_started_at').update({ party_deletion_started_at: Date.now() });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
/** For workflows: `proxyActivities<typeof activityTypes>` needs a value-level type anchor. */
export declare const activityTypes: Activities;
