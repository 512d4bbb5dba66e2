/**
 * Delivery: the only place sealed hops move to a party. Each activity is idempotent on the hop
 * id — a retry after a crash finds the hop already in custody and the receipt already in the
 * ledger, and the parties answer a redelivered hop with their stored answer — so a crash anywhere
 * repeats nothing. A refusal (by the router's rules or by the party) is recorded and returned;
 * a transport failure throws, so Temporal retries.
 */
import { deliveries, stageKind } from '../common/metrics';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { DzlError, isErrorCode } from '../common/errors';
import type { Consent } from '../consent/consent';
import { admitHop, requireConsentOf, requireRecipient, type CustodyDeps } from '../custody/custody';
import type { HopKind } from '../domain/hops';
import { classifyPartyFailure, hopFromWire, hopToWire, receiptFromWire, receiptToWire, unaryCall, type WireHop, type WireReceipt } from '../grpc/transport';
import { recordReceipt } from '../ledger/ledger';
import type { DecisionResult, DeliveryActivities, HopRef, Refused, StepResult } from '../orchestration/contract';
import { decodeHop, RELAYED_MAX_AGE_MS, verifyHop } from '../seal/hop';
import { signReceipt, verifyReceipt } from '../seal/receipt';
import { appendState } from '../store/applicationStates';
import { getApplication, type ApplicationRow } from '../store/applications';
import { markDelivered, recordAttemptOutcome } from '../store/attempts';
import { getSealedHop, type StoredHop } from '../store/sealedHops';
import type { ActivityDeps } from './deps';
import { recordStepRefusal } from './refusals';

interface PartyAnswer {
  receipt?: WireReceipt;
  next?: WireHop;
}

interface Step {
  stage: string;
  /** Whether a refusal here ends the application (a cascade attempt's does not). */
  endsApplication: boolean;
  /** A receipt without a reply hop is a complete answer (a redirect hop, an asynchronous bank). */
  answerOptional: boolean;
  /** The hop the party answers with, if any: its kind and to whom it goes. */
  next?: { kind: HopKind; to: (app: ApplicationRow) => string };
}

/** A refusal of a party's reply hop names that hop, so the party can be told (a bank's decision). */
type RefusedAnswer = Refused & { refusedAnswer?: { hopId: string; headerDigest: string; bankId: string } };
/** What the workflow gets of a refusal (its history holds this and nothing else). */
const refusedOnly = (r: RefusedAnswer): Refused => ({ status: r.status, code: r.code, stage: r.stage });
type Delivered = { accepted: true } | { admitted: Awaited<ReturnType<typeof admitHop>> } | RefusedAnswer;

export function createDeliveryActivities(deps: ActivityDeps): DeliveryActivities {
  // Answers come back at once, but a redelivery after a crash may return one sealed long ago.
  const custody: CustodyDeps = { db: deps.db, directory: deps.directory, ...(deps.refreshDirectory ? { refreshDirectory: deps.refreshDirectory } : {}), nonces: deps.nonces, maxAgeMs: RELAYED_MAX_AGE_MS };
  const timeout = deps.deliveryTimeoutMs ?? 10_000;

  /** A call's deadline: the delivery timeout, or what is left of the step's budget if that is less. */
  function callTimeout(): number {
    try {
      const i = Context.current().info;
      if (i.scheduleToCloseTimeoutMs > 0) return Math.max(250, Math.min(timeout, i.scheduledTimestampMs + i.scheduleToCloseTimeoutMs - Date.now()));
    } catch {
      // not in an activity (called directly)
    }
    return timeout;
  }

  async function load(ref: HopRef): Promise<{ app: ApplicationRow; sealed: StoredHop }> {
    const app = await getApplication(deps.db, ref.applicationId);
    const sealed = await getSealedHop(deps.db, ref.hopId);
    if (!app || !sealed) throw ApplicationFailure.nonRetryable(`application ${ref.applicationId} or hop ${ref.hopId} is not in the store`, 'APPLICATION_NOT_FOUND');
    return { app, sealed };
  }

  const refuse = (app: ApplicationRow, step: Pick<Step, 'stage' | 'endsApplication'>, refusedBy: string, err: DzlError, hopId?: string, input?: unknown) =>
    recordStepRefusal(deps.db, deps.log, { applicationId: app.id, stage: step.stage, refusedBy, endsApplication: step.endsApplication, ...(hopId ? { hopId } : {}), ...(input !== undefined ? { input } : {}) }, err);

  /** Takes a party's reply hop into custody, or records why not (and which hop, when it decodes). */
  async function admitAnswer(app: ApplicationRow, step: Step, consent: Consent, input: WireHop | undefined, from: string, parentHopId: string): Promise<Delivered> {
    try {
      const admitted = await admitHop(custody, hopFromWire(input), consent, { kind: step.next!.kind, from, to: step.next!.to(app), applicationId: app.id, parentHopId });
      return { admitted };
    } catch (err) {
      if (!(err instanceof DzlError)) throw err;
      const refused = await refuse(app, { ...step, stage: `${step.stage}:answer` }, 'router', err, undefined, input);
      const answer = await refusedAnswerOf(input, from, app.id);
      return answer ? { ...refused, refusedAnswer: answer } : refused;
    }
  }

  /**
   * The refused answer the router may sign a rejection of: a hop the party asked signed itself
   * (its signature verifies), of this application, and not a hop the router holds — the router
   * never signs a rejection of a hop it took, nor of one that is not that party's.
   */
  async function refusedAnswerOf(input: WireHop | undefined, from: string, applicationId: string): Promise<{ hopId: string; headerDigest: string; bankId: string } | undefined> {
    let h;
    try {
      h = verifyHop(hopFromWire(input), { signerOf: deps.directory().signerOf, maxAgeMs: RELAYED_MAX_AGE_MS });
    } catch {
      return undefined;
    }
    if (h.header.from !== from || h.header.applicationId !== applicationId || (await getSealedHop(deps.db, h.header.hopId))) return undefined;
    return { hopId: h.header.hopId, headerDigest: h.headerDigest, bankId: from };
  }

  /**
   * A bank learns that the router refused the decision it returned with the delivery
   * (BankService.DecisionRefused, envelope.md §15.5): the router's signed rejection of that hop.
   * Best effort: the refusal is in the evidence log either way, and a bank that does not answer
   * does not hold the cascade up.
   */
  async function tellBankOfRefusal(applicationId: string, answer: { hopId: string; headerDigest: string; bankId: string }, code: string): Promise<void> {
    const receipt = signReceipt(deps.router.signing, { hopId: answer.hopId, headerDigest: answer.headerDigest }, 'rejected', code);
    try {
      await unaryCall(deps.parties.bank(answer.bankId), 'DecisionRefused', { receipt: receiptToWire(receipt), application_id: applicationId }, Math.min(callTimeout(), 5_000));
    } catch (err) {
      const failure = classifyPartyFailure(err);
      deps.log.warn({ bankId: answer.bankId, hopId: answer.hopId, code: failure.transient ? 'PARTY_UNAVAILABLE' : failure.refusal.code }, 'the bank was not told of the refusal of its decision');
    }
  }

  /**
   * Hands a hop in custody to its recipient, records the recipient's receipt, and takes
   * custody of the hop it answers with.
   */
  async function deliver(ref: HopRef, step: Step, call: (app: ApplicationRow, hop: WireHop, stored: StoredHop) => Promise<PartyAnswer>): Promise<Delivered> {
    const { app, sealed } = await load(ref);
    const hop = decodeHop(sealed.sealed);
    // consent is checked again at the moment of delivery: it may have been withdrawn since custody
    const consent = await requireConsentOf(deps.db, app);
    if (hop.header.kind !== 'decision' && hop.header.kind !== 'disbursement') {
      try {
        requireRecipient(consent, sealed.to);
      } catch (err) {
        if (err instanceof DzlError) return refuse(app, step, 'router', err, ref.hopId);
        throw err;
      }
    }
    let answer: PartyAnswer;
    const timer = deliveries.startTimer({ stage: stageKind(step.stage) });
    try {
      answer = await call(app, hopToWire(sealed.sealed), sealed);
      timer({ result: 'answered' });
    } catch (err) {
      const failure = classifyPartyFailure(err);
      timer({ result: failure.transient ? 'transient' : 'refused' });
      if (!failure.transient) return refuse(app, step, sealed.to, failure.refusal, ref.hopId);
      throw err; // unavailable, deadline: retried within the step's budget
    }
    let receipt;
    try {
      receipt = verifyReceipt(receiptFromWire(answer.receipt), { hopId: ref.hopId, headerDigest: hop.headerDigest, by: sealed.to }, deps.directory().signerOf);
    } catch (err) {
      if (err instanceof DzlError) return refuse(app, step, 'router', err, ref.hopId, answer.receipt);
      throw err;
    }
    await recordReceipt(deps.db, app.id, receipt);
    if (receipt.body.status === 'rejected') {
      const reason = receipt.body.reason;
      const code = isErrorCode(reason) ? reason : 'ROUTE_NOT_ALLOWED';
      return refuse(app, step, sealed.to, new DzlError(code, `${sealed.to} rejected hop ${ref.hopId} with ${code}`), ref.hopId);
    }
    if (!step.next || (!answer.next && step.answerOptional)) return { accepted: true };
    // (a withdrawal since the check above is caught when the answer is taken into custody)
    return admitAnswer(app, step, consent, answer.next, sealed.to, ref.hopId);
  }

  return {
    async deliverToChannel(ref): Promise<StepResult> {
      const r = await deliver(
        ref,
        { stage: 'platform→channel', endsApplication: true, answerOptional: false, next: { kind: 'credit_report', to: () => ref.bankId } },
        (app, hop) =>
          unaryCall<object, { receipt?: WireReceipt; bank_hop?: WireHop }>(deps.parties.channel(app.channelId), 'ProcessApplication', { hop, bank_id: ref.bankId }, callTimeout()).then((res) => ({
            ...(res.receipt ? { receipt: res.receipt } : {}),
            ...(res.bank_hop ? { next: res.bank_hop } : {}),
          })),
      );
      if (!('admitted' in r)) return refusedOnly(r as RefusedAnswer);
      const nextHopId = r.admitted.hop.header.hopId;
      await appendState(deps.db, ref.applicationId, { state: 'credit_report_sealed', hopId: nextHopId });
      return { status: 'forwarded', nextHopId };
    },

    async requestCreditReport(ref): Promise<StepResult> {
      const app = await getApplication(deps.db, ref.applicationId);
      if (!app) throw ApplicationFailure.nonRetryable(`application ${ref.applicationId} is not in the store`, 'APPLICATION_NOT_FOUND');
      const step: Step = { stage: `channel→${ref.bankId}`, endsApplication: false, answerOptional: false, next: { kind: 'credit_report', to: () => ref.bankId } };
      let res: { bank_hop?: WireHop };
      let consent: Consent;
      try {
        // the next bank must be named and not withdrawn before the channel works on its report
        consent = await requireConsentOf(deps.db, app);
        requireRecipient(consent, ref.bankId);
        res = await unaryCall(deps.parties.channel(app.channelId), 'ReportToBank', { application_id: app.id, application_hop_id: ref.applicationHopId, bank_id: ref.bankId }, timeout);
      } catch (err) {
        if (err instanceof DzlError) return refuse(app, step, 'router', err);
        const failure = classifyPartyFailure(err);
        if (!failure.transient) return refuse(app, step, app.channelId, failure.refusal);
        throw err;
      }
      const r = await admitAnswer(app, step, consent, res.bank_hop, app.channelId, ref.applicationHopId);
      return 'admitted' in r ? { status: 'forwarded', nextHopId: r.admitted.hop.header.hopId } : refusedOnly(r as RefusedAnswer);
    },

    async deliverToBank(ref): Promise<DecisionResult> {
      const r = await deliver(
        ref,
        { stage: 'channel→bank', endsApplication: false, answerOptional: true, next: { kind: 'decision', to: (a) => a.platformId } },
        async (app, hop, stored) => {
          // counted against the bank's daily quota from the moment it is delivered
          await markDelivered(deps.db, app.id, stored.to, Date.now());
          const res = await unaryCall<object, { receipt?: WireReceipt; decision_hop?: WireHop }>(deps.parties.bank(stored.to), 'DeliverCreditReport', { hop }, callTimeout());
          return { ...(res.receipt ? { receipt: res.receipt } : {}), ...(res.decision_hop ? { next: res.decision_hop } : {}) };
        },
      );
      if ('accepted' in r) return { status: 'delivered' };
      if (!('admitted' in r)) {
        if (r.refusedAnswer) await tellBankOfRefusal(ref.applicationId, r.refusedAnswer, r.code);
        return refusedOnly(r);
      }
      const { hopId: nextHopId, outcome, from } = r.admitted.hop.header;
      // a decision that came with the delivery is recorded here, saving the workflow a step
      await recordAttemptOutcome(deps.db, { applicationId: ref.applicationId, bankId: from, outcome: outcome!.status, ...(outcome!.reasonCode ? { reasonCode: outcome!.reasonCode } : {}), hopId: nextHopId, at: Date.now() });
      return { status: 'decided', nextHopId, outcome: outcome! };
    },

    async deliverRedirect(ref) {
      const r = await deliver(ref, { stage: 'platform→bank (redirect)', endsApplication: true, answerOptional: true }, (_app, hop, stored) =>
        unaryCall<object, { receipt?: WireReceipt }>(deps.parties.bank(stored.to), 'DeliverRedirect', { hop }, callTimeout()).then((res) => (res.receipt ? { receipt: res.receipt } : {})),
      );
      return 'status' in r ? refusedOnly(r) : { status: 'delivered' as const };
    },

    async recordAttempt(a) {
      await recordAttemptOutcome(deps.db, { ...a, at: Date.now() });
    },
  };
}
