/**
 * Consent as an object: its terms (fixed once registered), and its state per recipient in an
 * append-only history — granted when registered, then withdrawn (by the party that collected
 * it, for all or some recipients) or expired. Each change writes the history and its evidence
 * leaf in one transaction.
 */
import { createHash } from 'node:crypto';
import { DzlError } from '../common/errors';
import { consentTerms, parseConsent, sameConsent, type Consent } from '../consent/consent';
import { recordConsent, recordConsentState } from '../ledger/ledger';
import type { StopPlan, WithdrawalRequest } from '../orchestration/contract';
import { applicationsCiting, getApplication } from '../store/applications';
import { appendConsentEvent, consentEvents, getConsent, lockConsents, saveConsent, type ConsentState } from '../store/consents';
import { transact, type Conn, type Db } from '../store/db';
import { recipientsOf } from '../store/sealedHops';

export type { ConsentState };

export interface ConsentEventView {
  state: ConsentState;
  recipients: string[] | '*';
  by: string;
  at: string;
  recordedAt: string;
}

export interface ConsentView {
  consent: Consent;
  /** withdrawn or expired overall; `partially_withdrawn` when some recipients still hold it. */
  state: ConsentState | 'partially_withdrawn';
  recipients: { party: string; state: ConsentState; since: string }[];
  history: ConsentEventView[];
}

function mismatch(id: string): DzlError {
  return new DzlError('CONSENT_MISMATCH', `consent ${id} is already registered with other terms; a changed consent needs a new id`, { consent: id });
}

/**
 * Registers a consent (terms, granted event, evidence leaf) unless it stands already with the
 * same terms; other terms under the same id are CONSENT_MISMATCH.
 */
export async function registerConsent(trx: Conn, consent: Consent): Promise<{ created: boolean }> {
  const standing = await getConsent(trx, consent.id);
  if (standing) {
    if (!sameConsent(standing, consent)) throw mismatch(consent.id);
    return { created: false };
  }
  const terms = consentTerms(consent);
  if (!(await saveConsent(trx, terms))) {
    // registered a moment ago by a concurrent request: the same terms, or a mismatch
    const winner = await getConsent(trx, consent.id);
    if (!winner || !sameConsent(winner, consent)) throw mismatch(consent.id);
    return { created: false };
  }
  await appendConsentEvent(trx, consent.id, '*', { state: 'granted', recipients: '*', by: consent.createdBy ?? consent.platformId, at: Date.parse(consent.actedAt ?? consent.grantedAt), ...(consent.deviceDigest ? { deviceDigest: consent.deviceDigest } : {}) });
  await recordConsent(trx, terms);
  return { created: true };
}

/**
 * The consent an application request relies on: declared inline (`consent`), or registered
 * before through POST /v1/consents and named (`consentId`).
 */
export async function resolveConsent(db: Conn, body: { consent?: unknown; consentId?: unknown }, platformId: string): Promise<{ consent: Consent; inline: boolean }> {
  if (body.consent === undefined && typeof body.consentId === 'string') {
    const c = await getConsent(db, body.consentId);
    if (!c || c.platformId !== platformId || (c.createdBy && c.createdBy !== platformId)) {
      throw new DzlError('CONSENT_NOT_FOUND', `no consent ${body.consentId} registered by ${platformId}; register it with POST /v1/consents or declare it inline`, { consent: body.consentId });
    }
    return { consent: c, inline: false };
  }
  const consent = parseConsent(body.consent, platformId);
  if (consent.applicationId) {
    throw new DzlError('REQUEST_MALFORMED', 'a platform consent covers the applications that cite it; leave out consent.applicationId', { member: 'consent.applicationId' });
  }
  const standing = await getConsent(db, consent.id);
  if (standing && !sameConsent(standing, consent)) throw mismatch(consent.id);
  // a consent declared again inline keeps its recorded state (a withdrawal is not undone)
  return { consent: standing ?? consent, inline: !standing };
}

/** '*' for all recipients, else the SHA-256 of the sorted list: a fixed-length unique key. */
function recipientsKey(recipients: string[] | undefined): string {
  return recipients ? createHash('sha256').update(JSON.stringify([...new Set(recipients)].sort())).digest('hex') : '*';
}

/** A withdrawal names only recipients the consent has (REQUEST_MALFORMED otherwise). */
export function checkWithdrawnRecipients(consent: Consent, recipients: string[] | undefined): void {
  const unknown = (recipients ?? []).filter((r) => !consent.recipients.includes(r));
  if (unknown.length > 0) {
    throw new DzlError('REQUEST_MALFORMED', `recipients ${unknown.join(', ')} are not recipients of consent ${consent.id}`, { member: 'recipients', fields: unknown });
  }
}

/** Appends a withdrawal (idempotent per consent and recipient set) with its evidence leaf. */
export async function recordWithdrawal(db: Db, consent: Consent, w: Omit<WithdrawalRequest, 'consentId'>): Promise<{ recorded: boolean }> {
  checkWithdrawnRecipients(consent, w.recipients);
  const all = !w.recipients || consent.recipients.every((r) => w.recipients!.includes(r));
  const recipients = all ? undefined : [...new Set(w.recipients)].sort();
  return transact(db, async (trx) => {
    // serialised with hops taking custody under this consent (custody locks the same rows)
    await lockConsents(trx, consent.id);
    const recorded = await appendConsentEvent(trx, consent.id, recipientsKey(recipients), {
      state: 'withdrawn',
      recipients: recipients ?? '*',
      by: w.by,
      at: Date.parse(w.actedAt),
      ...(w.deviceDigest ? { deviceDigest: w.deviceDigest } : {}),
    });
    if (recorded) {
      await recordConsentState(
        trx,
        { consentId: consent.id, state: 'withdrawn', ...(recipients ? { recipients } : {}), by: w.by, at: new Date(w.actedAt).toISOString(), ...(w.deviceDigest ? { deviceDigest: w.deviceDigest } : {}) },
        consent.applicationId,
      );
    }
    return { recorded };
  });
}

/** Records the expiry once, when first observed after the consent's validity ended. */
export async function noteExpiry(db: Db, consent: Consent, now = new Date()): Promise<void> {
  if (now <= new Date(consent.expiresAt)) return;
  await transact(db, async (trx) => {
    const recorded = await appendConsentEvent(trx, consent.id, '*', { state: 'expired', recipients: '*', by: 'router', at: Date.parse(consent.expiresAt) });
    if (recorded) await recordConsentState(trx, { consentId: consent.id, state: 'expired', by: 'router', at: consent.expiresAt }, consent.applicationId);
  });
}

export async function consentView(db: Db, id: string, now = new Date()): Promise<ConsentView | undefined> {
  const first = await getConsent(db, id);
  if (!first) return undefined;
  await noteExpiry(db, first, now);
  const consent = (await getConsent(db, id))!;
  const history = (await consentEvents(db, id)).map((e) => ({
    state: e.state,
    recipients: e.recipients,
    by: e.by,
    at: new Date(e.at).toISOString(),
    recordedAt: new Date(e.recordedAt).toISOString(),
  }));
  const expired = now > new Date(consent.expiresAt);
  const recipients = consent.recipients.map((party) => {
    const withdrawn = consent.withdrawn?.['*'] ?? consent.withdrawn?.[party];
    if (withdrawn) return { party, state: 'withdrawn' as const, since: withdrawn };
    if (expired) return { party, state: 'expired' as const, since: consent.expiresAt };
    return { party, state: 'granted' as const, since: consent.actedAt ?? consent.grantedAt };
  });
  const states = new Set(recipients.map((r) => r.state));
  const state = states.size === 1 ? [...states][0]! : states.has('granted') ? 'partially_withdrawn' : 'withdrawn';
  return { consent, state, recipients, history };
}

/** The applications under a consent: those citing it, or the one a bank's own consent was given for. */
export async function applicationIdsUnder(db: Conn, consent: Consent): Promise<string[]> {
  if (consent.applicationId) return [consent.applicationId];
  return (await applicationsCiting(db, consent.id)).map((a) => a.id);
}

/** Which applications under a consent a withdrawal (for these recipients, or all) stops. */
export async function applicationsToStop(db: Db, consent: Consent, recipients: string[] | undefined): Promise<StopPlan[]> {
  const withdrawn = new Set(recipients ?? consent.recipients);
  const plan: StopPlan[] = [];
  for (const applicationId of await applicationIdsUnder(db, consent)) {
    const app = await getApplication(db, applicationId);
    if (!app) continue; // a redirect whose hops never came: nothing was sent
    const involved = await recipientsOf(db, applicationId);
    const stops = !recipients || withdrawn.has(app.channelId) || involved.some((p) => withdrawn.has(p));
    plan.push({ applicationId, workflowId: app.workflowId, stops });
  }
  return plan;
}
