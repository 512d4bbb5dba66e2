/**
 * Consent as an object: its terms (fixed once registered), and its state per recipient in an
 * append-only history — granted when registered, then withdrawn (by the party that collected
 * it, for all or some recipients) or expired. Every change is an evidence leaf too.
 */
import type { Knex } from 'knex';
import { DzlError } from '../common/errors';
import { recordConsent, recordConsentState } from '../ledger/ledger';
import { getConsent, saveConsent } from '../store/applications';
import { createHash } from 'node:crypto';
import { insertIgnore, isMysql, toMs, type Db } from '../store/db';
import { consentTerms, parseConsent, sameConsent, type Consent } from './consent';

type Conn = Db | Knex.Transaction;

export type ConsentState = 'granted' | 'withdrawn' | 'expired';

export interface ConsentEvent {
  state: ConsentState;
  /** '*' for all of the consent's recipients. */
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
  history: ConsentEvent[];
}

/**
 * Registers a consent (terms, granted event, evidence leaf) unless it stands already with the
 * same terms; other terms under the same id are CONSENT_MISMATCH.
 */
export async function registerConsent(trx: Conn, consent: Consent): Promise<{ created: boolean }> {
  const standing = await getConsent(trx, consent.id);
  if (standing) {
    if (!sameConsent(standing, consent)) {
      throw new DzlError('CONSENT_MISMATCH', `consent ${consent.id} is already registered with other terms; a changed consent needs a new id`, { consent: consent.id });
    }
    return { created: false };
  }
  const terms = consentTerms(consent);
  if (!(await saveConsent(trx, terms))) {
    // registered a moment ago by a concurrent request: the same terms, or a mismatch
    const winner = await getConsent(trx, consent.id);
    if (!winner || !sameConsent(winner, consent)) {
      throw new DzlError('CONSENT_MISMATCH', `consent ${consent.id} is already registered with other terms; a changed consent needs a new id`, { consent: consent.id });
    }
    return { created: false };
  }
  await insertIgnore(
    trx,
    'consent_events',
    { consent_id: consent.id, state: 'granted', recipients_key: '*', recipients: '*', by_party: consent.createdBy ?? consent.platformId, at: Date.parse(consent.actedAt ?? consent.grantedAt), device_digest: consent.deviceDigest ?? null, recorded_at: Date.now() },
    ['consent_id', 'state', 'recipients_key'],
  );
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
  if (standing && !sameConsent(standing, consent)) {
    throw new DzlError('CONSENT_MISMATCH', `consent ${consent.id} is already registered with other terms; a changed consent needs a new id`, { consent: consent.id });
  }
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
export async function recordWithdrawal(
  db: Db,
  consent: Consent,
  w: { by: string; recipients?: string[]; actedAt: string; deviceDigest?: string },
): Promise<{ recorded: boolean }> {
  checkWithdrawnRecipients(consent, w.recipients);
  const all = !w.recipients || consent.recipients.every((r) => w.recipients!.includes(r));
  const recipients = all ? undefined : [...new Set(w.recipients)].sort();
  return db.transaction(async (trx) => {
    // serialised with hops taking custody under this consent (lockConsentOfApplication)
    if (isMysql(db)) await trx('consents').where({ id: consent.id }).forUpdate().select('id');
    const recorded = await insertIgnore(
      trx,
      'consent_events',
      { consent_id: consent.id, state: 'withdrawn', recipients_key: recipientsKey(recipients), recipients: recipients ? JSON.stringify(recipients) : '*', by_party: w.by, at: Date.parse(w.actedAt), device_digest: w.deviceDigest ?? null, recorded_at: Date.now() },
      ['consent_id', 'state', 'recipients_key'],
    );
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
  await db.transaction(async (trx) => {
    const recorded = await insertIgnore(
      trx,
      'consent_events',
      { consent_id: consent.id, state: 'expired', recipients_key: '*', recipients: '*', by_party: 'router', at: Date.parse(consent.expiresAt), device_digest: null, recorded_at: Date.now() },
      ['consent_id', 'state', 'recipients_key'],
    );
    if (recorded) await recordConsentState(trx, { consentId: consent.id, state: 'expired', by: 'router', at: consent.expiresAt }, consent.applicationId);
  });
}

export async function consentView(db: Db, id: string, now = new Date()): Promise<ConsentView | undefined> {
  let consent = await getConsent(db, id);
  if (!consent) return undefined;
  await noteExpiry(db, consent, now);
  consent = (await getConsent(db, id))!;
  const history: ConsentEvent[] = (await db('consent_events').where({ consent_id: id }).orderBy('seq')).map((e) => ({
    state: e.state as ConsentState,
    recipients: e.recipients === '*' ? '*' : (JSON.parse(e.recipients) as string[]),
    by: e.by_party as string,
    at: new Date(toMs(e.at)).toISOString(),
    recordedAt: new Date(toMs(e.recorded_at)).toISOString(),
  }));
  const expired = now > new Date(consent.expiresAt);
  const recipients = consent.recipients.map((party) => {
    const withdrawn = consent!.withdrawn?.['*'] ?? consent!.withdrawn?.[party];
    if (withdrawn) return { party, state: 'withdrawn' as const, since: withdrawn };
    if (expired) return { party, state: 'expired' as const, since: consent!.expiresAt };
    return { party, state: 'granted' as const, since: consent!.actedAt ?? consent!.grantedAt };
  });
  const states = new Set(recipients.map((r) => r.state));
  const state = states.size === 1 ? [...states][0]! : states.has('granted') ? 'partially_withdrawn' : 'withdrawn';
  return { consent, state, recipients, history };
}

/**
 * The consent an application's hops are checked against, with every withdrawal that stops it:
 * the platform's own, and in the redirect model the one the customer gave the bank on its page
 * (withdrawn there, it withdraws for the recipients it named).
 */
export async function consentOfApplication(db: Conn, app: { id: string; consentId: string }): Promise<Consent | undefined> {
  const consent = await getConsent(db, app.consentId);
  if (!consent) return undefined;
  // only a bank's own consent is filed with an application (platforms may not file one)
  for (const row of await db('consents').where({ application_id: app.id }).whereNot('created_by', consent.platformId).select('id')) {
    const own = await getConsent(db, row.id as string);
    for (const [who, at] of Object.entries(own?.withdrawn ?? {})) {
      for (const party of who === '*' ? own!.recipients : [who]) (consent.withdrawn ??= {})[party] ??= at;
    }
  }
  return consent;
}

/** consentOfApplication, holding the consent rows until the transaction ends (MySQL; SQLite serialises writers). */
export async function lockConsentOfApplication(trx: Knex.Transaction, app: { id: string; consentId: string }): Promise<Consent | undefined> {
  if (isMysql(trx as unknown as Db)) {
    // two selects, each on its own index: an OR could lock the whole table
    await trx('consents').where({ id: app.consentId }).forUpdate().select('id');
    await trx('consents').where({ application_id: app.id }).forUpdate().select('id');
  }
  return consentOfApplication(trx, app);
}

/** The applications under a consent: those citing it, or the one a bank's own consent was given for. */
export async function applicationIdsUnder(db: Db, consent: Consent): Promise<string[]> {
  if (consent.applicationId) return [consent.applicationId];
  return (await db('applications').where({ consent_id: consent.id }).orderBy('created_at').select('id')).map((r) => r.id as string);
}

export interface StopPlan {
  applicationId: string;
  workflowId: string;
  /** Whether the withdrawal concerns it: all recipients, its channel, or a party its hops went to. */
  stops: boolean;
}

/** Which applications under a consent a withdrawal (for these recipients, or all) stops. */
export async function applicationsToStop(db: Db, consent: Consent, recipients: string[] | undefined): Promise<StopPlan[]> {
  const withdrawn = new Set(recipients ?? consent.recipients);
  const plan: StopPlan[] = [];
  for (const applicationId of await applicationIdsUnder(db, consent)) {
    const app = await db('applications').where({ id: applicationId }).first();
    if (!app) continue; // a redirect whose hops never came: nothing was sent
    const involved = (await db('sealed_hops').where({ application_id: applicationId }).distinct('to_party')).map((r) => r.to_party as string);
    const stops = !recipients || withdrawn.has(app.channel_id as string) || involved.some((p) => withdrawn.has(p));
    plan.push({ applicationId, workflowId: app.workflow_id as string, stops });
  }
  return plan;
}
