/**
 * Asynchronous bank decisions (RouterService.SubmitDecision): the router takes custody of the
 * decision hop like any other, then hands it to the application's workflow as an update. The
 * workflow is the authority on time: its validator refuses a bank it no longer awaits
 * (DECISION_TOO_LATE) or an application the customer stopped (CONSENT_WITHDRAWN), and that code
 * reaches the bank unchanged, recorded in the ledger beside the late hop itself.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { DzlError } from '../common/errors';
import { admitHop, consentOfApplication, requireNotWithdrawn, type CustodyDeps } from '../custody/custody';
import { recordingRefusals } from '../ledger/ledger';
import { decisionUpdate, TASK_QUEUE, workflowIds } from '../orchestration/contract';
import { dzlErrorOf } from '../orchestration/failures';
import { decodeHop } from '../seal/hop';
import { appendState, statesOf } from '../store/applicationStates';
import { isFinalOutcome } from '../domain/applications';
import { getApplication, type ApplicationRow } from '../store/applications';
import { attemptOf } from '../store/attempts';
import { recordDisbursement } from '../store/disbursements';
import { creditReportFor } from '../store/sealedHops';
import { disbursementNotice } from '../../workflows/disbursement';

export interface DecisionDeps extends CustodyDeps {
  temporal: Client;
}

export function submitDecision(deps: DecisionDeps, bankId: string, input: unknown): Promise<{ accepted: true; applicationId: string }> {
  return recordingRefusals(deps.db, { stage: 'bank decision', from: bankId, input }, () => takeDecision(deps, bankId, input));
}

async function applicationOf(deps: DecisionDeps, applicationId: string): Promise<ApplicationRow> {
  const app = await getApplication(deps.db, applicationId);
  if (!app) throw new DzlError('APPLICATION_NOT_FOUND', `no application ${applicationId}`);
  return app;
}

async function takeDecision(deps: DecisionDeps, bankId: string, input: unknown): Promise<{ accepted: true; applicationId: string }> {
  const { header } = decodeHop(input);
  if (header.from !== bankId) throw new DzlError('HOP_SIGNER_MISMATCH', `a decision comes from the bank that decided; ${bankId} sent one from ${header.from}`);
  const app = await applicationOf(deps, header.applicationId);
  const report = await creditReportFor(deps.db, app.id, bankId);
  if (!report) throw new DzlError('ROUTE_NOT_ALLOWED', `${bankId} was never sent a credit report for ${app.id}`);
  if (app.payloadsErasedAt) {
    throw new DzlError('DECISION_TOO_LATE', `${app.id} has ended and its retention has elapsed; the router takes nothing more into custody for it`, { applicationId: app.id });
  }
  const consent = await consentOfApplication(deps.db, app);
  if (!consent) throw new DzlError('CONSENT_MISSING', `consent ${app.consentId} of ${app.id} is not on record`);
  // a withdrawal stopped the application: a decision still in flight is not taken into custody
  requireNotWithdrawn(consent, app.id, [bankId, app.channelId]);
  const { hop, fresh } = await admitHop(deps, input, consent, { kind: 'decision', from: bankId, to: app.platformId, applicationId: app.id, parentHopId: report.hopId });
  if (!fresh) {
    // the same decision again: answered as before if it was taken, refused if it was late
    const attempt = await attemptOf(deps.db, app.id, bankId);
    if (attempt?.hopId === hop.header.hopId) return { accepted: true, applicationId: app.id };
  }
  const workflow = deps.temporal.workflow.getHandle(app.workflowId);
  try {
    await workflow.executeUpdate(decisionUpdate, { args: [{ bankId, hopId: hop.header.hopId, outcome: hop.header.outcome! }] });
  } catch (err) {
    // refused by the workflow's validator: its code, as the validator gave it
    const refused = dzlErrorOf(err);
    if (refused) throw new DzlError(refused.code, `decision ${hop.header.hopId} of ${bankId} for ${app.id}: ${refused.message}`, { hopId: hop.header.hopId });
    // the workflow has finished: the application has moved on
    const finished = err instanceof WorkflowUpdateFailedError || (await workflow.describe().then((d) => d.status.name !== 'RUNNING', () => false));
    if (finished) {
      throw new DzlError('DECISION_TOO_LATE', `decision ${hop.header.hopId} of ${bankId} for ${app.id} arrived after the application ended; it has moved on`, { hopId: hop.header.hopId });
    }
    throw err;
  }
  return { accepted: true, applicationId: app.id };
}


/**
 * A bank's disbursement (放款) after its approval: custody of the hop, a row for reconciliation,
 * and a notice workflow that calls the platform back until it acknowledges.
 */
export async function reportDisbursement(deps: DecisionDeps, bankId: string, input: unknown): Promise<{ accepted: true }> {
  return recordingRefusals(deps.db, { stage: 'disbursement', from: bankId, input }, async () => {
    const { header } = decodeHop(input);
    const app = await applicationOf(deps, header.applicationId);
    // an application that ended otherwise (withdrawn, refused, expired, …) has no loan to disburse
    const states = await statesOf(deps.db, app.id);
    const ended = states.find((st) => isFinalOutcome(st.state) && st.state !== 'approved');
    if (ended) throw new DzlError(ended.state === 'withdrawn' ? 'CONSENT_WITHDRAWN' : 'ROUTE_NOT_ALLOWED', `${app.id} ended ${ended.state}; there is no loan to disburse`, { applicationId: app.id });
    // one read of the bank's attempt: two (approved? then open?) would see the worker record the
    // approval in between and answer "never" to a bank that did approve
    const attempt = await attemptOf(deps.db, app.id, bankId);
    const approval = attempt?.outcome === 'approved' ? attempt : undefined;
    if (!approval) {
      // an approval the bank returned a moment ago is recorded once the worker has taken it: the
      // bank's attempt still open on a running application is "not yet" (retry), not "never"
      if (attempt?.deliveredAt !== undefined && attempt.outcome === undefined && !states.some((st) => isFinalOutcome(st.state))) {
        throw new DzlError('PARTY_UNAVAILABLE', `the decision of ${bankId} on ${app.id} is not recorded yet; report the disbursement again shortly`, { applicationId: app.id });
      }
      throw new DzlError('ROUTE_NOT_ALLOWED', `${bankId} did not approve ${app.id}; only the approving bank reports its disbursement`);
    }
    if (app.payloadsErasedAt) {
      throw new DzlError('ROUTE_NOT_ALLOWED', `the retention of ${app.id} has elapsed (its sealed payloads are erased); report a disbursement within the approved retention`, { applicationId: app.id });
    }
    const consent = await consentOfApplication(deps.db, app);
    if (!consent) throw new DzlError('CONSENT_MISSING', `consent ${app.consentId} of ${app.id} is not on record`);
    const { hop } = await admitHop(deps, input, consent, { kind: 'disbursement', from: bankId, to: app.platformId, applicationId: app.id, parentHopId: approval.hopId! });
    await recordDisbursement(deps.db, { hopId: hop.header.hopId, applicationId: app.id, platformId: app.platformId, bankId, day: new Date().toISOString().slice(0, 10) });
    // in true order: the approval the disbursement follows is in the history before it, even when
    // the bank reports the disbursement before the workflow has told the platform of the approval
    await appendState(deps.db, app.id, { state: 'approved', hopId: approval.hopId! });
    await appendState(deps.db, app.id, { state: 'disbursed', hopId: hop.header.hopId });
    try {
      await deps.temporal.workflow.start(disbursementNotice, { taskQueue: TASK_QUEUE, workflowId: workflowIds.disbursement(hop.header.hopId), args: [{ applicationId: app.id, hopId: hop.header.hopId }] });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return { accepted: true as const };
  });
}
