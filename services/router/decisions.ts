/**
 * Asynchronous bank decisions (RouterService.SubmitDecision): the router takes custody of the
 * decision hop like any other, then hands it to the application's workflow as an update. The
 * workflow is the authority on time: its validator refuses a bank it no longer awaits, and that
 * refusal becomes DECISION_TOO_LATE, recorded in the ledger beside the late hop itself.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { appendState } from '../store/applications';
import { insertIgnore } from '../store/db';
import { TASK_QUEUE } from '../temporal/dataConverter';
import { DzlError } from '../common/errors';
import { recordingRefusals } from '../ledger/ledger';
import { decodeHop } from '../seal/hop';
import { getApplication, getConsent } from '../store/applications';
import { decisionUpdate } from '../../workflows/dataChannel';
import { admitHop, type CarrierDeps } from './carrier';
import { withdrawnFor } from '../consent/consent';
import { consentOfApplication } from '../consent/registry';

export interface DecisionDeps extends CarrierDeps {
  temporal: Client;
}

/** Retention has erased the application's sealed payloads: nothing more is taken into custody. */
async function payloadsErased(deps: DecisionDeps, applicationId: string): Promise<boolean> {
  const row = await deps.db('applications').where({ id: applicationId }).first('payloads_erased_at');
  return Boolean(row?.payloads_erased_at);
}

export function submitDecision(deps: DecisionDeps, bankId: string, input: unknown): Promise<{ accepted: true; applicationId: string }> {
  return recordingRefusals(deps.db, { stage: 'bank decision', from: bankId, input }, () => takeDecision(deps, bankId, input));
}

async function takeDecision(deps: DecisionDeps, bankId: string, input: unknown): Promise<{ accepted: true; applicationId: string }> {
  const { header } = decodeHop(input);
  if (header.from !== bankId) throw new DzlError('HOP_SIGNER_MISMATCH', `a decision comes from the bank that decided; ${bankId} sent one from ${header.from}`);
  const app = await getApplication(deps.db, header.applicationId);
  if (!app) throw new DzlError('APPLICATION_NOT_FOUND', `no application ${header.applicationId}`);
  const report = await deps.db('sealed_hops').where({ application_id: app.id, kind: 'credit_report', to_party: bankId }).first();
  if (!report) throw new DzlError('ROUTE_NOT_ALLOWED', `${bankId} was never sent a credit report for ${app.id}`);
  if (await payloadsErased(deps, app.id)) {
    throw new DzlError('DECISION_TOO_LATE', `${app.id} has ended and its retention has elapsed; the router takes nothing more into custody for it`, { applicationId: app.id });
  }
  const consent = await consentOfApplication(deps.db, app);
  if (!consent) throw new DzlError('CONSENT_MISSING', `consent ${app.consentId} of ${app.id} is not on record`);
  // a withdrawal stopped the application: a decision still in flight is not taken into custody
  const withdrawn = withdrawnFor(consent, bankId) ?? withdrawnFor(consent, app.channelId);
  if (withdrawn) {
    throw new DzlError('CONSENT_WITHDRAWN', `the customer withdrew consent ${consent.id} at ${withdrawn}; ${app.id} is stopped, and its data must be deleted as the router's notice says`, {
      consent: consent.id,
      applicationId: app.id,
    });
  }
  const { hop, fresh } = await admitHop(deps, input, consent, { kind: 'decision', from: bankId, to: app.platformId, applicationId: app.id, parentHopId: report.hop_id });
  if (!fresh) {
    // the same decision again: answered as before if it was taken, refused if it was late
    const attempt = await deps.db('application_attempts').where({ application_id: app.id, bank_id: bankId }).first();
    if (attempt?.hop_id === hop.header.hopId) return { accepted: true, applicationId: app.id };
  }
  const workflow = deps.temporal.workflow.getHandle(app.workflowId);
  try {
    await workflow.executeUpdate(decisionUpdate, { args: [{ bankId, hopId: hop.header.hopId, outcome: hop.header.outcome! }] });
  } catch (err) {
    // refused by the workflow's validator, or the workflow has finished: either way, too late
    const finished = await workflow.describe().then((d) => d.status.name !== 'RUNNING', () => false);
    if (err instanceof WorkflowUpdateFailedError || finished) {
      throw new DzlError('DECISION_TOO_LATE', `decision ${hop.header.hopId} of ${bankId} for ${app.id} arrived after its decision timeout; the application has moved on`, {
        hopId: hop.header.hopId,
      });
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
    const app = await getApplication(deps.db, header.applicationId);
    if (!app) throw new DzlError('APPLICATION_NOT_FOUND', `no application ${header.applicationId}`);
    const approval = await deps.db('application_attempts').where({ application_id: app.id, bank_id: bankId, outcome: 'approved' }).first();
    if (!approval) throw new DzlError('ROUTE_NOT_ALLOWED', `${bankId} did not approve ${app.id}; only the approving bank reports its disbursement`);
    if (await payloadsErased(deps, app.id)) {
      throw new DzlError('ROUTE_NOT_ALLOWED', `the retention of ${app.id} has elapsed (its sealed payloads are erased); report a disbursement within the approved retention`, { applicationId: app.id });
    }
    const consent = await getConsent(deps.db, app.consentId);
    if (!consent) throw new DzlError('CONSENT_MISSING', `consent ${app.consentId} of ${app.id} is not on record`);
    const { hop } = await admitHop(deps, input, consent, { kind: 'disbursement', from: bankId, to: app.platformId, applicationId: app.id, parentHopId: approval.hop_id });
    await insertIgnore(deps.db, 'disbursements', { hop_id: hop.header.hopId, application_id: app.id, platform_id: app.platformId, bank_id: bankId, day: new Date().toISOString().slice(0, 10), created_at: Date.now() });
    await appendState(deps.db, app.id, { state: 'disbursed', hopId: hop.header.hopId });
    try {
      await deps.temporal.workflow.start('disbursementNotice', { taskQueue: TASK_QUEUE, workflowId: `dzl-disbursement-${hop.header.hopId}`, args: [{ applicationId: app.id, hopId: hop.header.hopId }] });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return { accepted: true as const };
  });
}
