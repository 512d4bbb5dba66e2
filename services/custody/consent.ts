/**
 * The one place the router asks "may this hop go to this party now, under this application's
 * consent": at intake, when it takes a hop into custody, before each delivery, before it asks the
 * channel for a cascade report, and when a bank answers. Every check reads the consent as it now
 * stands — the platform's, and in the redirect model the bank's own, whose withdrawal counts too.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DzlError } from '../common/errors';
import { checkConsentCovers, withdrawnFor, type Consent } from '../consent/consent';
import type { ApplicationRow } from '../store/applications';
import { consentIdsFiledFor, getConsent, lockConsents } from '../store/consents';
import type { Conn } from '../store/db';

type AppRef = Pick<ApplicationRow, 'id' | 'consentId'>;

/**
 * The consent an application's hops are checked against, with every withdrawal that stops it:
 * the platform's own, and in the redirect model the one the customer gave the bank on its page
 * (withdrawn there, it withdraws for the recipients it named).
 */
export async function consentOfApplication(db: Conn, app: AppRef): Promise<Consent | undefined> {
  const consent = await getConsent(db, app.consentId);
  if (!consent) return undefined;
  // only a bank's own consent is filed with an application (platforms may not file one)
  for (const id of await consentIdsFiledFor(db, app.id, consent.platformId)) {
    const own = await getConsent(db, id);
    for (const [who, at] of Object.entries(own?.withdrawn ?? {})) {
      for (const party of who === '*' ? own!.recipients : [who]) (consent.withdrawn ??= {})[party] ??= at;
    }
  }
  return consent;
}

/** The application's consent; its absence is a fault of the store, not of the caller. */
export async function requireConsentOf(db: Conn, app: AppRef): Promise<Consent> {
  const c = await consentOfApplication(db, app);
  if (!c) throw ApplicationFailure.nonRetryable(`consent ${app.consentId} of ${app.id} is not in the store`, 'CONSENT_MISSING');
  return c;
}

/** consentOfApplication, holding its rows until the transaction ends: custody serialises with a withdrawal. */
export async function lockConsentOfApplication(trx: Conn, app: AppRef): Promise<Consent | undefined> {
  await lockConsents(trx, app.consentId, app.id);
  return consentOfApplication(trx, app);
}

/** The recipient may receive the application's data now: named, not withdrawn, not expired. */
export function requireRecipient(consent: Consent, recipient: string, at: Date = new Date()): void {
  checkConsentCovers(consent, recipient, at);
}

/** A party's answer is not taken once the customer withdrew for it or for the channel. */
export function requireNotWithdrawn(consent: Consent, applicationId: string, parties: string[]): void {
  for (const p of parties) {
    const at = withdrawnFor(consent, p);
    if (at) {
      throw new DzlError('CONSENT_WITHDRAWN', `the customer withdrew consent ${consent.id} at ${at}; ${applicationId} is stopped, and its data must be deleted as the router's notice says`, {
        consent: consent.id,
        applicationId,
      });
    }
  }
}
