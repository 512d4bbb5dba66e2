/**
 * Callbacks: the platform learns each outcome by a signed POST to its callback URL, and answers
 * with its signed receipt for the hop it was given. Anything but a valid answer throws, so
 * Temporal asks again; a signed rejection is recorded and ends the asking (the same bytes would
 * be rejected again).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { DzlError, isErrorCode } from '../common/errors';
import { traceHeaders } from '../common/tracing';
import { recordReceipt } from '../ledger/ledger';
import { checkCallbackUrl, postOutbound } from '../outbound/outbound';
import type { CallbackActivities } from '../orchestration/contract';
import { decodeHop } from '../seal/hop';
import { verifyReceipt } from '../seal/receipt';
import { signRequest } from '../seal/requestSignature';
import { appendState } from '../store/applicationStates';
import { getApplication } from '../store/applications';
import { getSealedHop } from '../store/sealedHops';
import type { ActivityDeps } from './deps';
import { recordStepRefusal } from './refusals';

/** A platform's answer to a callback is a receipt: a few KiB at most. */
const MAX_CALLBACK_ANSWER_BYTES = 64 * 1024;

export function createCallbackActivities(deps: ActivityDeps): CallbackActivities {
  const timeout = deps.deliveryTimeoutMs ?? 10_000;

  /**
   * A signed POST to a platform's callback URL, through the outbound guard; throws (so Temporal
   * retries) unless it answers 200 with JSON. A URL the platform's registered origins or the
   * outbound policy no longer allow is never called: non-retryable.
   */
  async function callBack(app: { platformId: string }, url: string, message: object): Promise<{ receipt?: unknown }> {
    let target: URL;
    try {
      target = checkCallbackUrl(url, deps.directory().callbackOriginsOf(app.platformId), deps.outbound);
    } catch (err) {
      throw ApplicationFailure.nonRetryable('the callback URL is no longer allowed', 'CALLBACK_URL_REFUSED');
    }
    const body = Buffer.from(JSON.stringify(message));
    const res = await postOutbound(
      target,
      { 'content-type': 'application/json', authorization: signRequest(deps.router.signing, 'POST', target.pathname + target.search, body), ...traceHeaders() },
      body,
      { timeoutMs: timeout, maxBytes: MAX_CALLBACK_ANSWER_BYTES, policy: deps.outbound },
    );
    if (res.status !== 200) throw new Error(`platform callback answered HTTP ${res.status}`);
    try {
      return JSON.parse(res.body.toString('utf8')) as { receipt?: unknown };
    } catch {
      throw new Error('platform callback answered something other than JSON');
    }
  }

  return {
    async notifyDisbursement(ref) {
      const app = await getApplication(deps.db, ref.applicationId);
      const sealed = await getSealedHop(deps.db, ref.hopId);
      if (!app || !sealed) throw ApplicationFailure.nonRetryable(`disbursement ${ref.hopId} of ${ref.applicationId} is not in the store`, 'APPLICATION_NOT_FOUND');
      if (!app.callbackUrl) return;
      const answer = await callBack(app, app.callbackUrl, { applicationId: app.id, outcome: 'disbursed', hop: sealed.sealed });
      const receipt = verifyReceipt(answer.receipt, { hopId: sealed.hopId, headerDigest: decodeHop(sealed.sealed).headerDigest, by: app.platformId }, deps.directory().signerOf);
      await recordReceipt(deps.db, app.id, receipt);
    },

    async notifyPlatform(ref) {
      const app = await getApplication(deps.db, ref.applicationId);
      if (!app) throw ApplicationFailure.nonRetryable(`application ${ref.applicationId} is not in the store`, 'APPLICATION_NOT_FOUND');
      await appendState(deps.db, app.id, { state: ref.final, ...(ref.hopId ? { hopId: ref.hopId } : {}), ...(ref.reasonCode ? { reasonCode: ref.reasonCode } : {}) });
      if (!app.callbackUrl) return;
      const sealed = ref.hopId ? await getSealedHop(deps.db, ref.hopId) : undefined;
      const answer = await callBack(app, app.callbackUrl, { applicationId: app.id, outcome: ref.final, ...(ref.reasonCode ? { reasonCode: ref.reasonCode } : {}), ...(sealed ? { hop: sealed.sealed } : {}) });
      if (!sealed) {
        await appendState(deps.db, app.id, { state: 'platform_notified' });
        return;
      }
      const receipt = verifyReceipt(answer.receipt, { hopId: sealed.hopId, headerDigest: decodeHop(sealed.sealed).headerDigest, by: app.platformId }, deps.directory().signerOf);
      await recordReceipt(deps.db, app.id, receipt);
      if (receipt.body.status === 'rejected') {
        // Redelivering the same bytes cannot change the platform's verdict: record it and stop.
        const reason = receipt.body.reason;
        const code = isErrorCode(reason) ? reason : 'ROUTE_NOT_ALLOWED';
        const err = new DzlError(code, `${app.platformId} rejected decision hop ${sealed.hopId} with ${code}`);
        await recordStepRefusal(deps.db, deps.log, { applicationId: app.id, stage: 'bank→platform', refusedBy: app.platformId, hopId: sealed.hopId, endsApplication: false }, err);
        await appendState(deps.db, app.id, { state: 'platform_rejected_decision', hopId: sealed.hopId, reasonCode: code });
        return;
      }
      await appendState(deps.db, app.id, { state: 'platform_notified', hopId: sealed.hopId });
      deps.log.info({ applicationId: app.id, outcome: ref.final, hopId: sealed.hopId }, 'outcome told to the platform');
    },
  };
}
