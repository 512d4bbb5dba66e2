/**
 * The consent API: a platform registers the consent its customer gave (or, in the redirect
 * model, the bank registers the one given on its own page), reads its state and history, and
 * records the customer's withdrawal — which stops every application still running under it.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { DzlError } from '../common/errors';
import { isDeviceDigest, parseConsent, type Consent } from '../consent/consent';
import { recordingRefusals } from '../ledger/ledger';
import { applicationIdsUnder, checkWithdrawnRecipients, consentView, registerConsent, type ConsentView } from '../lifecycle/consents';
import { TASK_QUEUE, type WithdrawalRequest } from '../orchestration/contract';
import type { NetworkDirectory } from '../registry/directory';
import { getConsent } from '../store/consents';
import { transact, type Db } from '../store/db';
import { redirectOf } from '../store/redirects';
import { withdrawConsentWorkflow } from '../../workflows/lifecycle';

export interface ConsentDeps {
  db: Db;
  directory: () => NetworkDirectory;
  temporal: Client;
}

/** POST /v1/consents: idempotent on the consent id (same terms → the standing consent). */
export async function declareConsent(deps: ConsentDeps, party: string, body: unknown): Promise<{ created: boolean; view: ConsentView }> {
  return recordingRefusals(deps.db, { stage: 'consent', from: party, input: body }, async () => {
    const role = deps.directory().requireParty(party).role;
    let consent: Consent;
    if (role === 'platform') {
      consent = parseConsent(body, party);
      if (consent.applicationId) throw new DzlError('REQUEST_MALFORMED', 'a platform consent covers the applications that cite it; leave out consent.applicationId', { member: 'consent.applicationId' });
    } else if (role === 'bank') {
      // the bank's own consent, collected on its page for a redirect application it was handed
      const applicationId = (body as { applicationId?: unknown } | undefined)?.applicationId;
      const redirect = typeof applicationId === 'string' ? await redirectOf(deps.db, applicationId, { bankId: party }) : undefined;
      if (!redirect) throw new DzlError('APPLICATION_NOT_FOUND', `no redirect application ${String(applicationId)} for ${party}; a bank registers consent for a customer it was redirected`);
      consent = { ...parseConsent(body, redirect.platformId, party), createdBy: party };
      if (!consent.recipients.includes(party)) throw new DzlError('REQUEST_MALFORMED', `a bank's consent names the bank itself (${party}) among its recipients`, { member: 'consent.recipients' });
    } else {
      throw new DzlError('PARTY_ROLE_MISMATCH', `consent is registered by the platform or, in the redirect model, the bank; ${party} is a ${role}`, { party });
    }
    if (!consent.actedAt || !consent.deviceDigest) {
      throw new DzlError('REQUEST_MALFORMED', 'consent.actedAt (when the customer agreed) and consent.deviceDigest (base64url SHA-256 of the device identifier) are required here', { member: 'consent.actedAt' });
    }
    const { created } = await transact(deps.db, (trx) => registerConsent(trx, consent));
    return { created, view: (await consentView(deps.db, consent.id))! };
  });
}

/** The consent, if `party` may see it: the party that registered it, or a regulator. */
async function visibleConsent(deps: ConsentDeps, party: string, id: string): Promise<Consent> {
  const c = await getConsent(deps.db, id);
  const role = deps.directory().party(party)?.role;
  // another party's consent is reported as absent, not as forbidden: no existence oracle
  // a bank's own consent (redirect model) is between the bank and its customer: not the platform's to read
  const owner = c?.createdBy ?? c?.platformId;
  if (!c || (owner !== party && role !== 'regulator')) {
    throw new DzlError('CONSENT_NOT_FOUND', `no consent ${id} registered by ${party}`, { consent: id });
  }
  return c;
}

export async function readConsent(deps: ConsentDeps, party: string, id: string): Promise<ConsentView & { applications: string[] }> {
  const c = await visibleConsent(deps, party, id);
  return { ...(await consentView(deps.db, c.id))!, applications: await applicationIdsUnder(deps.db, c) };
}

/**
 * POST /v1/consents/{id}/withdraw, by the party that registered the consent. The withdrawal is
 * recorded first (so every later hop is refused with CONSENT_WITHDRAWN whatever happens next),
 * then each application under it that involves a withdrawn recipient is stopped: its workflow,
 * or once that has ended, a workflow that notifies the parties at once and erases the payloads.
 * Both steps run in one workflow (withdrawConsentWorkflow), so a crash between them loses
 * nothing. Repeating the request repeats the signals and records nothing twice.
 */
export async function withdrawConsent(deps: ConsentDeps, party: string, id: string, body: unknown): Promise<ConsentView & { applications: { applicationId: string; stopped: boolean }[] }> {
  return recordingRefusals(deps.db, { stage: 'consent withdrawal', from: party, input: { id, body } }, async () => {
    const consent = await visibleConsent(deps, party, id);
    if ((consent.createdBy ?? consent.platformId) !== party) {
      throw new DzlError('CONSENT_NOT_FOUND', `consent ${id} was registered by another party; only it records a withdrawal`, { consent: id });
    }
    const b = (body ?? {}) as { recipients?: unknown; actedAt?: unknown; deviceDigest?: unknown };
    if (typeof b.actedAt !== 'string' || Number.isNaN(Date.parse(b.actedAt))) throw new DzlError('REQUEST_MALFORMED', 'body.actedAt must be the RFC 3339 time the customer withdrew', { member: 'actedAt' });
    if (b.deviceDigest !== undefined && !isDeviceDigest(b.deviceDigest)) {
      throw new DzlError('REQUEST_MALFORMED', 'body.deviceDigest must be the base64url SHA-256 of the device identifier', { member: 'deviceDigest' });
    }
    if (b.recipients !== undefined && (!Array.isArray(b.recipients) || b.recipients.length === 0 || b.recipients.some((r) => typeof r !== 'string'))) {
      throw new DzlError('REQUEST_MALFORMED', 'body.recipients, when given, must list the recipients the customer withdrew consent for', { member: 'recipients' });
    }
    const recipients = b.recipients as string[] | undefined;
    checkWithdrawnRecipients(consent, recipients);
    // one durable workflow records the withdrawal and stops what it concerns: once started, it
    // completes whatever crashes; the same withdrawal again runs it again, which records nothing twice
    const request: WithdrawalRequest = { consentId: id, by: party, ...(recipients ? { recipients: [...new Set(recipients)].sort() } : {}), actedAt: new Date(b.actedAt).toISOString(), ...(typeof b.deviceDigest === 'string' ? { deviceDigest: b.deviceDigest } : {}) };
    const workflowId = `dzl-withdrawal-${createHash('sha256').update(JSON.stringify([id, request.recipients ?? '*'])).digest('hex').slice(0, 32)}`;
    let applications: { applicationId: string; stopped: boolean }[];
    try {
      applications = await deps.temporal.workflow.execute(withdrawConsentWorkflow, { taskQueue: TASK_QUEUE, workflowId, args: [request] });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      applications = await deps.temporal.workflow.getHandle(workflowId).result();
    }
    return { ...(await consentView(deps.db, id))!, applications };
  });
}
