/** Consent withdrawal and retention, as activities (services/lifecycle holds the facades). */
import { ApplicationFailure } from '@temporalio/activity';
import { applicationsToStop, recordWithdrawal } from '../lifecycle/consents';
import { purgeApplication, sweepRetention } from '../lifecycle/retention';
import type { LifecycleActivities } from '../orchestration/contract';
import { markPartyDeletionStarted, setRetention } from '../store/applications';
import { getConsent } from '../store/consents';
import type { ActivityDeps } from './deps';

export function createLifecycleActivities(deps: ActivityDeps): LifecycleActivities {
  return {
    async recordConsentWithdrawal(w) {
      const consent = await getConsent(deps.db, w.consentId);
      if (!consent) throw ApplicationFailure.nonRetryable(`consent ${w.consentId} is not in the store`, 'CONSENT_NOT_FOUND');
      await recordWithdrawal(deps.db, consent, w);
      return applicationsToStop(deps.db, consent, w.recipients);
    },

    async setRetention(r) {
      await setRetention(deps.db, r.applicationId, Date.now() + r.retainMs, r.reason);
    },

    async purgeApplication(ref) {
      await purgeApplication(deps.db, ref.applicationId, ref.reason);
      deps.log.info({ applicationId: ref.applicationId, reason: ref.reason }, 'sealed payloads erased');
    },

    async sweepRetention(ref) {
      const sweep = await sweepRetention(deps.db, ref.limit, deps.retentionSweepMs ?? 60_000);
      for (const a of sweep.erased) deps.log.info({ applicationId: a.applicationId, reason: a.reason }, 'sealed payloads erased');
      return { askParties: sweep.askParties, sleepMs: sweep.sleepMs };
    },

    async markPartyDeletionStarted(ref) {
      await markPartyDeletionStarted(deps.db, ref.applicationIds, Date.now());
    },
  };
}
