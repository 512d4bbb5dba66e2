import { ApplicationFailure } from '@temporalio/activity';
import type { Consent } from '../consent/consent';
import { consentOfApplication } from '../consent/registry';
import type { ApplicationRow } from '../store/applications';
import type { Db } from '../store/db';

export async function getConsentOrFail(db: Db, app: ApplicationRow): Promise<Consent> {
  const c = await consentOfApplication(db, app);
  if (!c) throw ApplicationFailure.nonRetryable(`consent ${app.consentId} of ${app.id} is not in the store`, 'CONSENT_MISSING');
  return c;
}
