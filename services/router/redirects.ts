/**
 * The direct-redirect model (直连跳转), router side.
 *
 *  1. POST /v1/redirects — the platform asks for a redirect to a named bank: the router issues a
 *     signed, short-lived, single-use token and answers with the bank's page URL.
 *  2. POST /v1/redirects/{id}/hops — the platform's two hops: its risk data sealed for the
 *     bank's channel (keyed by the application), and the redirect hop to the bank carrying the
 *     token and nothing personal. The router takes custody of both and starts the workflow.
 *  3. RouterService.ClaimRedirect — the bank, once the customer applied on its page, claims the
 *     token (once); the workflow then delivers the channel's credit product to the bank.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { DzlError } from '../common/errors';
import { checkConsentCovers } from '../consent/consent';
import { registerConsent, resolveConsent } from '../consent/registry';
import { recordingRefusals } from '../ledger/ledger';
import type { PartyIdentity } from '../pki/identity';
import { DEFAULT_DECISION_TIMEOUT_MS } from '../routing/funding';
import { b64url, sha256 } from '../seal/bytes';
import { canonicalJson } from '../seal/canonical';
import { verifyHop } from '../seal/hop';
import { checkRoute } from '../routing/rules';
import { issueRedirectToken, readRedirectToken } from '../seal/redirectToken';
import { appendState, getConsent, insertApplication, type ApplicationRow } from '../store/applications';
import { insertIgnore } from '../store/db';
import { TASK_QUEUE } from '../temporal/dataConverter';
import { claimUpdate, type RedirectRef } from '../../workflows/directRedirect';
import { admitHop } from './carrier';
import { workflowIdFor, type IntakeDeps } from './intake';

export interface RedirectDeps extends IntakeDeps {
  router: PartyIdentity;
  claimTimeoutMs?: number;
}

export async function issueRedirect(deps: RedirectDeps, platformId: string, body: unknown) {
  return recordingRefusals(deps.db, { stage: 'redirect', from: platformId }, async () => {
    const b = (body ?? {}) as { bank?: unknown; consent?: unknown; consentId?: unknown; callbackUrl?: unknown };
    if (typeof b.bank !== 'string') throw new DzlError('REQUEST_MALFORMED', 'body.bank must name the bank to redirect to', { member: 'bank' });
    const directory = deps.directory();
    directory.requireParty(platformId, 'platform');
    const bank = directory.requireParty(b.bank, 'bank');
    const channel = directory.channelOfBank(bank.id);
    const { consent } = await resolveConsent(deps.db, b, platformId);
    checkConsentCovers(consent, channel, new Date());
    checkConsentCovers(consent, bank.id, new Date());
    if (!bank.webUrl) throw new DzlError('PARTY_UNAVAILABLE', `bank ${bank.id} has no application page registered`);
    const applicationId = `app_${randomUUID()}`;
    const { token, claims } = issueRedirectToken(deps.router.signing, applicationId, bank.id);
    await deps.db.transaction(async (trx) => {
      await registerConsent(trx, consent);
      await trx('redirects').insert({
        token_id: claims.t, application_id: applicationId, platform_id: platformId, bank_id: bank.id, consent_id: consent.id,
        callback_url: typeof b.callbackUrl === 'string' ? b.callbackUrl : null, expires_at: claims.exp, created_at: Date.now(),
      });
    });
    return {
      applicationId,
      token,
      redirectUrl: `${bank.webUrl}?token=${encodeURIComponent(token)}`,
      expiresAt: new Date(claims.exp).toISOString(),
      channel,
      consentId: consent.id,
      ...(typeof b.callbackUrl === 'string' ? { callbackUrl: b.callbackUrl } : {}),
    };
  });
}

export async function submitRedirectHops(deps: RedirectDeps, platformId: string, applicationId: string, idempotencyKey: string | undefined, body: unknown) {
  const b = (body ?? {}) as { riskHop?: unknown; redirectHop?: unknown; callbackUrl?: unknown };
  return recordingRefusals(deps.db, { stage: 'redirect', from: platformId, input: b.riskHop }, async () => {
    if (!idempotencyKey) throw new DzlError('IDEMPOTENCY_KEY_MISSING', 'send an Idempotency-Key header with the redirect hops');
    const redirect = await deps.db('redirects').where({ application_id: applicationId, platform_id: platformId }).first();
    if (!redirect) throw new DzlError('APPLICATION_NOT_FOUND', `no redirect ${applicationId} for ${platformId}; ask POST /v1/redirects first`);
    const requestHash = b64url(sha256(canonicalJson(body ?? null)));
    const workflowId = workflowIdFor(platformId, idempotencyKey);
    const prior = await deps.db('applications').where({ id: applicationId }).first();
    if (prior) {
      if (prior.request_hash !== requestHash) throw new DzlError('IDEMPOTENCY_KEY_REUSED', `the hops of ${applicationId} were already submitted with other content`);
      return { applicationId, workflowId: prior.workflow_id as string, state: 'accepted', replayed: true };
    }
    const directory = deps.directory();
    // both hops authenticated and checked before custody of either: a refusal leaves nothing behind
    const consent = await getConsent(deps.db, redirect.consent_id);
    if (!consent) throw new DzlError('CONSENT_MISSING', `consent ${redirect.consent_id} declared with the redirect is not on record`);
    const channel = directory.channelOfBank(redirect.bank_id);
    const [riskVerified, handoffVerified] = [b.riskHop, b.redirectHop].map((input) => verifyHop(input, { signerOf: directory.signerOf }));
    for (const [{ header: h }, kind, to] of [[riskVerified!, 'application', channel], [handoffVerified!, 'redirect', redirect.bank_id]] as const) {
      if (h.model !== 'direct_redirect' || h.kind !== kind || h.to !== to || h.applicationId !== applicationId || h.consentRef !== consent.id) {
        throw new DzlError('ROUTE_NOT_ALLOWED', `the ${kind} hop of redirect ${applicationId} must be model direct_redirect, to ${to}, under consent ${consent.id}`);
      }
      checkRoute(h, { directory, consent, at: new Date() });
    }
    const riskHop = await admitHop(deps, b.riskHop, consent, { kind: 'application', from: platformId, to: channel, applicationId }, riskVerified);
    const handoff = await admitHop(deps, b.redirectHop, consent, { kind: 'redirect', from: platformId, to: redirect.bank_id, applicationId }, handoffVerified);
    const row: ApplicationRow = {
      id: applicationId,
      platformId,
      idempotencyKey,
      requestHash,
      workflowId,
      model: 'direct_redirect',
      channelId: channel,
      bankId: redirect.bank_id,
      consentId: consent.id,
      callbackUrl: (redirect.callback_url as string | null) ?? null,
      intakeHopId: riskHop.hop.header.hopId,
      createdAt: Date.now(),
    };
    await deps.db.transaction(async (trx) => {
      await insertApplication(trx, row);
      await appendState(trx, applicationId, { state: 'accepted', hopId: riskHop.hop.header.hopId });
      await insertIgnore(trx, 'application_attempts', { application_id: applicationId, bank_id: redirect.bank_id, position: 0, day: new Date().toISOString().slice(0, 10), platform_id: platformId, created_at: Date.now() });
    });
    const ref: RedirectRef = {
      applicationId,
      riskHopId: riskHop.hop.header.hopId,
      redirectHopId: handoff.hop.header.hopId,
      bankId: redirect.bank_id,
      claimTimeoutMs: deps.claimTimeoutMs ?? Math.max(1000, Number(redirect.expires_at) - Date.now()),
      decisionTimeoutMs: directory.party(redirect.bank_id)?.decisionTimeoutMs ?? DEFAULT_DECISION_TIMEOUT_MS,
      ...(deps.retention ? { retention: deps.retention } : {}),
    };
    try {
      await deps.temporal.workflow.start('directRedirectApplication', { taskQueue: TASK_QUEUE, workflowId, args: [ref] });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return { applicationId, workflowId, state: 'accepted', replayed: false };
  });
}

/** A bank claims the token its customer arrived with: once, before it expires. */
export async function claimRedirect(deps: RedirectDeps, bankId: string, token: string): Promise<{ applicationId: string }> {
  return recordingRefusals(deps.db, { stage: 'redirect claim', from: bankId }, async () => {
    const claims = readRedirectToken(token, deps.directory().signerOf);
    if (claims.b !== bankId) throw new DzlError('REDIRECT_TOKEN_INVALID', `this token was issued for ${claims.b}, not ${bankId}`);
    // the application must be there before the token's one claim is spent
    const app = await deps.db('applications').where({ id: claims.a }).first();
    if (!app) throw new DzlError('APPLICATION_NOT_FOUND', `the platform has not yet sent the hops of ${claims.a}; try again shortly`);
    const taken = await deps.db('redirects').where({ token_id: claims.t }).whereNull('claimed_at').andWhere('expires_at', '>', Date.now()).update({ claimed_at: Date.now() });
    if (taken === 0) {
      const row = await deps.db('redirects').where({ token_id: claims.t }).first();
      if (row?.claimed_at) throw new DzlError('REDIRECT_TOKEN_USED', 'this redirect token was already used; start again from the platform');
      throw new DzlError('REDIRECT_TOKEN_EXPIRED', 'this redirect token has expired; start again from the platform');
    }
    try {
      await deps.temporal.workflow.getHandle(app.workflow_id).executeUpdate(claimUpdate);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new DzlError('REDIRECT_TOKEN_USED', 'this redirect token was already used');
      throw new DzlError('REDIRECT_TOKEN_EXPIRED', 'the application behind this token is no longer waiting for the customer');
    }
    await appendState(deps.db, claims.a, { state: 'claimed_by_bank' });
    return { applicationId: claims.a };
  });
}

