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
import { randomUUID } from 'node:crypto';
import { DzlError } from '../common/errors';
import { namespaced } from '../domain/ids';
import { admitHop, requireRecipient } from '../custody/custody';
import { recordingRefusals } from '../ledger/ledger';
import { registerConsent, resolveConsent } from '../lifecycle/consents';
import { checkCallbackUrl } from '../outbound/outbound';
import { claimUpdate, type RedirectRef } from '../orchestration/contract';
import { dzlErrorOf } from '../orchestration/failures';
import type { PartyIdentity } from '../pki/identity';
import { DEFAULT_DECISION_TIMEOUT_MS } from '../routing/funding';
import { checkRoute } from '../routing/rules';
import { b64url, sha256 } from '../seal/bytes';
import { canonicalJson } from '../seal/canonical';
import { verifyHop } from '../seal/hop';
import { checkRedirectHop, issueRedirectToken, readRedirectToken } from '../seal/redirectToken';
import { appendState, statesOf } from '../store/applicationStates';
import { isFinalOutcome } from '../domain/applications';
import { getApplication, insertApplication, type ApplicationRow } from '../store/applications';
import { planAttempts } from '../store/attempts';
import { getConsent } from '../store/consents';
import { claimToken, insertRedirect, redirectByToken, redirectOf } from '../store/redirects';
import { hopsOfKind } from '../store/sealedHops';
import { directRedirectApplication } from '../../workflows/directRedirect';
import { startApplicationWorkflow, workflowIdFor, type IntakeDeps } from './intake';
import { transact } from '../store/db';

export interface RedirectDeps extends IntakeDeps {
  router: PartyIdentity;
  claimTimeoutMs?: number;
}

export async function issueRedirect(deps: RedirectDeps, platformId: string, body: unknown) {
  return recordingRefusals(deps.db, { stage: 'redirect', from: platformId, input: body }, async () => {
    const b = (body ?? {}) as { bank?: unknown; consent?: unknown; consentId?: unknown; callbackUrl?: unknown };
    if (typeof b.bank !== 'string') throw new DzlError('REQUEST_MALFORMED', 'body.bank must name the bank to redirect to', { member: 'bank' });
    const directory = deps.directory();
    directory.requireParty(platformId, 'platform');
    const bank = directory.requireParty(b.bank, 'bank');
    const channel = directory.channelOfBank(bank.id);
    if (b.callbackUrl !== undefined) checkCallbackUrl(b.callbackUrl, directory.callbackOriginsOf(platformId), deps.outbound);
    const { consent } = await resolveConsent(deps.db, b, platformId);
    requireRecipient(consent, channel);
    requireRecipient(consent, bank.id);
    if (!bank.webUrl) throw new DzlError('PARTY_UNAVAILABLE', `bank ${bank.id} has no application page registered`);
    // the router chooses the id, in the platform's namespace, so the token names no one and collides with nothing
    const applicationId = namespaced(platformId, `app_${randomUUID()}`);
    const { token, claims } = issueRedirectToken(deps.router.signing, applicationId, bank.id);
    await transact(deps.db, async (trx) => {
      await registerConsent(trx, consent);
      await insertRedirect(trx, {
        tokenId: claims.t, applicationId, platformId, bankId: bank.id, consentId: consent.id,
        callbackUrl: typeof b.callbackUrl === 'string' ? b.callbackUrl : null, token, expiresAt: claims.exp,
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
  return recordingRefusals(deps.db, { stage: 'redirect', from: platformId, input: { applicationId, body }, hop: b.riskHop }, async () => {
    if (!idempotencyKey) throw new DzlError('IDEMPOTENCY_KEY_MISSING', 'send an Idempotency-Key header with the redirect hops');
    const redirect = await redirectOf(deps.db, applicationId, { platformId });
    if (!redirect) throw new DzlError('APPLICATION_NOT_FOUND', `no redirect ${applicationId} for ${platformId}; ask POST /v1/redirects first`);
    const requestHash = b64url(sha256(canonicalJson(body ?? null)));
    const workflowId = workflowIdFor(platformId, idempotencyKey);
    const directory = deps.directory();
    const prior = await getApplication(deps.db, applicationId);
    if (prior) {
      if (prior.requestHash !== requestHash) throw new DzlError('IDEMPOTENCY_KEY_REUSED', `the hops of ${applicationId} were already submitted with other content`);
      // a crash between the commit and the start left the application without its workflow: start it now
      await startRedirectWorkflow(deps, prior, redirect.expiresAt);
      return { applicationId, workflowId: prior.workflowId, state: 'accepted', replayed: true };
    }
    // both hops authenticated and checked before custody of either: a refusal leaves nothing behind
    const consent = await getConsent(deps.db, redirect.consentId);
    if (!consent) throw new DzlError('CONSENT_MISSING', `consent ${redirect.consentId} declared with the redirect is not on record`);
    const channel = directory.channelOfBank(redirect.bankId);
    const [riskVerified, handoffVerified] = [b.riskHop, b.redirectHop].map((input) => verifyHop(input, { signerOf: directory.signerOf }));
    for (const [{ header: h }, kind, to] of [[riskVerified!, 'application', channel], [handoffVerified!, 'redirect', redirect.bankId]] as const) {
      if (h.model !== 'direct_redirect' || h.kind !== kind || h.to !== to || h.applicationId !== applicationId || h.consentRef !== consent.id) {
        throw new DzlError('ROUTE_NOT_ALLOWED', `the ${kind} hop of redirect ${applicationId} must be model direct_redirect, to ${to}, under consent ${consent.id}`);
      }
      checkRoute(h, { directory, consent, at: new Date() });
    }
    // the redirect hop carries exactly the token issued for it: provable from its manifest and length alone
    if (!redirect.token) throw new DzlError('REDIRECT_TOKEN_INVALID', 'this redirect was issued before tokens were kept; ask POST /v1/redirects again');
    checkRedirectHop(handoffVerified!, redirect.token);
    const row: Omit<ApplicationRow, 'payloadsErasedAt'> = {
      id: applicationId,
      platformId,
      idempotencyKey,
      requestHash,
      workflowId,
      model: 'direct_redirect',
      channelId: channel,
      bankId: redirect.bankId,
      consentId: consent.id,
      callbackUrl: redirect.callbackUrl,
      intakeHopId: riskVerified!.header.hopId,
      createdAt: Date.now(),
    };
    // both hops and the application commit together, or nothing does
    const { stored, handoff } = await transact(deps.db, async (trx) => {
      const inTrx = { ...deps, db: trx };
      await admitHop(inTrx, b.riskHop, consent, { kind: 'application', from: platformId, to: channel, applicationId }, riskVerified);
      const handoff = await admitHop(inTrx, b.redirectHop, consent, { kind: 'redirect', from: platformId, to: redirect.bankId, applicationId }, handoffVerified);
      const r = await insertApplication(trx, row);
      await appendState(trx, applicationId, { state: 'accepted', hopId: row.intakeHopId });
      await planAttempts(trx, { applicationId, platformId, day: new Date().toISOString().slice(0, 10), bankIds: [redirect.bankId] });
      return { stored: r.row, handoff };
    });
    await startRedirectWorkflow(deps, stored, redirect.expiresAt, handoff.hop.header.hopId);
    return { applicationId, workflowId, state: 'accepted', replayed: false };
  });
}

/** The redirect hop of an application: the one it was submitted with, found again on a repeat. */
async function startRedirectWorkflow(deps: RedirectDeps, app: ApplicationRow, expiresAt: number, redirectHopId?: string): Promise<void> {
  const hopId = redirectHopId ?? (await redirectHopOf(deps, app.id));
  const ref: RedirectRef = {
    applicationId: app.id,
    riskHopId: app.intakeHopId,
    redirectHopId: hopId,
    bankId: app.bankId,
    claimTimeoutMs: deps.claimTimeoutMs ?? Math.max(1000, expiresAt - Date.now()),
    decisionTimeoutMs: deps.directory().party(app.bankId)?.decisionTimeoutMs ?? DEFAULT_DECISION_TIMEOUT_MS,
    ...(deps.retention ? { retention: deps.retention } : {}),
  };
  await startApplicationWorkflow(deps, directRedirectApplication, app.workflowId, ref);
}

async function redirectHopOf(deps: RedirectDeps, applicationId: string): Promise<string> {
  const hops = await hopsOfKind(deps.db, applicationId, 'redirect');
  if (!hops[0]) throw new DzlError('APPLICATION_NOT_FOUND', `the redirect hop of ${applicationId} is not in custody`);
  return hops[0];
}

/** A bank claims the token its customer arrived with: once, before it expires. */
export async function claimRedirect(deps: RedirectDeps, bankId: string, token: string): Promise<{ applicationId: string }> {
  return recordingRefusals(deps.db, { stage: 'redirect claim', from: bankId, input: token }, async () => {
    const claims = readRedirectToken(token, deps.directory().signerOf);
    if (claims.b !== bankId) throw new DzlError('REDIRECT_TOKEN_INVALID', `this token was issued for ${claims.b}, not ${bankId}`);
    // the application must be there before the token's one claim is spent
    const app = await getApplication(deps.db, claims.a);
    if (!app) throw new DzlError('APPLICATION_NOT_FOUND', `the platform has not yet sent the hops of ${claims.a}; try again shortly`);
    // the claim and its state in one transaction, before the workflow learns of it: the history
    // shows the claim before the credit report it releases, whatever happens next (envelope.md §15.6)
    // an application that ended (expired, withdrawn, refused) takes no claim: the history never shows one after its end
    if ((await statesOf(deps.db, claims.a)).some((st) => isFinalOutcome(st.state))) {
      if ((await redirectByToken(deps.db, claims.t))?.claimedAt) throw new DzlError('REDIRECT_TOKEN_USED', 'this redirect token was already used; start again from the platform');
      throw new DzlError('REDIRECT_TOKEN_EXPIRED', 'the application behind this token is no longer waiting for the customer');
    }
    const first = await deps.db.transaction(async (trx) => {
      const taken = await claimToken(trx, claims.t, Date.now());
      if (taken) await appendState(trx, claims.a, { state: 'claimed_by_bank' });
      return taken;
    });
    if (!first) {
      const row = await redirectByToken(deps.db, claims.t);
      if (!row?.claimedAt) throw new DzlError('REDIRECT_TOKEN_EXPIRED', 'this redirect token has expired; start again from the platform');
      // claimed already — by this bank, the only one the token is for: a retry after the router
      // failed between the claim and the workflow goes on; the workflow refuses a true second use
    }
    try {
      await deps.temporal.workflow.getHandle(app.workflowId).executeUpdate(claimUpdate);
    } catch (err) {
      // the workflow's validator: the token was used, or the customer withdrew consent
      const refused = dzlErrorOf(err);
      if (refused) throw refused;
      throw new DzlError(first ? 'REDIRECT_TOKEN_EXPIRED' : 'REDIRECT_TOKEN_USED', first ? 'the application behind this token is no longer waiting for the customer' : 'this redirect token was already used; start again from the platform');
    }
    return { applicationId: claims.a };
  });
}

