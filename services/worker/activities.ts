/**
 * Activities: the only place sealed hops move. Each is idempotent on the hop id — a retry after
 * a crash finds the hop already in custody and the receipt already in the ledger, and the
 * parties answer a redelivered hop with their stored answer — so a crash anywhere repeats nothing.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { DzlError, isErrorCode } from '../common/errors';
import type { Logger } from '../common/logger';
import { getConsentOrFail } from './lookups';
import { recordReceipt, recordRefusal } from '../evidence/ledger';
import { fromGrpcError, hopFromWire, hopToWire, receiptFromWire, unaryCall, type WireHop, type WireReceipt } from '../grpc/transport';
import type { PartyIdentity } from '../pki/network';
import type { NetworkDirectory } from '../registry/directory';
import { admitHop, type CarrierDeps } from '../router/carrier';
import { decodeHop, RELAYED_MAX_AGE_MS, type DecisionOutcome, type HopKind } from '../seal/hop';
import { verifyReceipt } from '../seal/receipt';
import { signRequest } from '../seal/requestSignature';
import type { NonceStore } from '../seal/replay';
import { appendState, getApplication, getSealedHop, type ApplicationRow } from '../store/applications';
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

  async function refuse(app: ApplicationRow, stage: string, refusedBy: string, err: DzlError, hopId?: string) {
    await recordRefusal(deps.db, {
      code: err.code,
      message: err.message,
      stage,
      refusedBy,
      applicationId: app.id,
      ...(hopId ? { hopId } : {}),
      dedupKey: `refusal:${app.id}:${stage}`,
    });
    await appendState(deps.db, app.id, { state: 'refused', reasonCode: err.code, ...(hopId ? { hopId } : {}) });
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
    call: (app: ApplicationRow, hop: WireHop) => Promise<PartyAnswer>,
    nextKind: HopKind,
    nextTo: (app: ApplicationRow) => string,
  ) {
    const { app, sealed } = await load(ref);
    const hop = decodeHop(sealed.sealed);
    let answer: PartyAnswer;
    try {
      answer = await call(app, hopToWire(sealed.sealed));
    } catch (err) {
      const refused = fromGrpcError(err);
      if (refused) return refuse(app, stage, sealed.to, refused, ref.hopId);
      throw err; // unavailable, deadline: retry
    }
    let receipt;
    try {
      receipt = verifyReceipt(receiptFromWire(answer.receipt), { hopId: ref.hopId, headerDigest: hop.headerDigest, by: sealed.to }, deps.directory().signerOf);
    } catch (err) {
      if (err instanceof DzlError) return refuse(app, stage, 'router', err, ref.hopId);
      throw err;
    }
    await recordReceipt(deps.db, app.id, receipt);
    if (receipt.body.status === 'rejected') {
      const reason = receipt.body.reason;
      const code = isErrorCode(reason) ? reason : 'ROUTE_NOT_ALLOWED';
      return refuse(app, stage, sealed.to, new DzlError(code, `${sealed.to} rejected hop ${ref.hopId}: ${reason ?? 'no reason given'}`), ref.hopId);
    }
    const consent = await getConsentOrFail(deps.db, app);
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
      if (err instanceof DzlError) return refuse(app, `${stage}:answer`, 'router', err);
      throw err;
    }
  }

  return {
    async deliverToChannel(ref: HopRef): Promise<StepResult> {
      const r = await deliver(
        ref,
        'platform→channel',
        (app, hop) => unaryCall(deps.parties.channel(app.channelId), 'ProcessApplication', { hop, bank_id: app.bankId }, timeout).then((res: any) => ({ receipt: res.receipt, next: res.bank_hop })),
        'credit_report',
        (app) => app.bankId,
      );
      if (!('admitted' in r)) return r;
      const nextHopId = r.admitted.hop.header.hopId;
      await appendState(deps.db, ref.applicationId, { state: 'credit_report_sealed', hopId: nextHopId });
      return { status: 'forwarded', nextHopId };
    },

    async deliverToBank(ref: HopRef): Promise<DecisionResult> {
      const r = await deliver(
        ref,
        'channel→bank',
        (app, hop) => unaryCall(deps.parties.bank(app.bankId), 'DeliverCreditReport', { hop }, timeout).then((res: any) => ({ receipt: res.receipt, next: res.decision_hop })),
        'decision',
        (app) => app.platformId,
      );
      if (!('admitted' in r)) return r;
      const { hopId: nextHopId, outcome } = r.admitted.hop.header;
      await appendState(deps.db, ref.applicationId, { state: outcome!.status, hopId: nextHopId, ...(outcome!.reasonCode ? { reasonCode: outcome!.reasonCode } : {}) });
      return { status: 'decided', nextHopId, outcome: outcome! };
    },

    /** Signed callback to the platform, retried (by Temporal) until it answers with a valid receipt. */
    async notifyPlatform(ref: HopRef): Promise<void> {
      const { app, sealed } = await load(ref);
      if (!app.callbackUrl) return;
      const body = Buffer.from(JSON.stringify({ applicationId: app.id, hop: sealed.sealed }));
      const path = new URL(app.callbackUrl).pathname + new URL(app.callbackUrl).search;
      const res = await fetch(app.callbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: signRequest(deps.router.signing, 'POST', path, body) },
        body,
        signal: AbortSignal.timeout(timeout),
      });
      if (!res.ok) throw new Error(`platform callback answered HTTP ${res.status}`);
      const answer = (await res.json()) as { receipt?: unknown };
      const receipt = verifyReceipt(answer.receipt, { hopId: ref.hopId, headerDigest: decodeHop(sealed.sealed).headerDigest, by: app.platformId }, deps.directory().signerOf);
      await recordReceipt(deps.db, app.id, receipt);
      if (receipt.body.status === 'rejected') {
        // Redelivering the same bytes cannot change the platform's verdict: record it and stop.
        const reason = receipt.body.reason;
        await refuse(app, 'bank→platform', app.platformId, new DzlError(isErrorCode(reason) ? reason : 'ROUTE_NOT_ALLOWED', `${app.platformId} rejected decision hop ${ref.hopId}: ${reason ?? 'no reason given'}`), ref.hopId);
        await appendState(deps.db, app.id, { state: 'platform_rejected_decision', hopId: ref.hopId, ...(reason ? { reasonCode: reason } : {}) });
        return;
      }
      await appendState(deps.db, app.id, { state: 'platform_notified', hopId: ref.hopId });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
/** For workflows: `proxyActivities<typeof activityTypes>` needs a value-level type anchor. */
export declare const activityTypes: Activities;
