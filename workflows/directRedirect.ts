/**
 * One application in the direct-redirect model (直连跳转): the customer applies on the bank's own
 * page, reached with the router's one-time token; the platform's risk data goes only to the
 * channel, keyed by the application; the bank gets the channel's credit product once it has
 * claimed the token; the platform learns the status only.
 */
import { condition, setHandler } from '@temporalio/workflow';
import { claimUpdate, type ApplicationResult, type RedirectRef } from '../services/orchestration/contract';
import { refusal } from '../services/orchestration/failures';
import { callbacks, delivery } from './activities';
import { refused } from './dataChannel';
import { askBank, DecisionInbox } from './decisions';
import { conclude, WithdrawalWatch } from './lifecycle';

export async function directRedirectApplication(ref: RedirectRef): Promise<ApplicationResult> {
  const claim = { claimed: false };
  const watch = new WithdrawalWatch();
  setHandler(claimUpdate, () => void (claim.claimed = true), {
    validator: () => {
      if (watch.withdrawn) throw refusal('CONSENT_WITHDRAWN', 'the customer withdrew consent; this application is stopped');
      if (claim.claimed) throw refusal('REDIRECT_TOKEN_USED', 'this redirect token was already used; start again from the platform');
    },
  });
  return conclude(ref.applicationId, watch, () => redirectFlow(ref, claim, watch), ref.retention);
}

async function redirectFlow(ref: RedirectRef, claim: { claimed: boolean }, watch: WithdrawalWatch): Promise<ApplicationResult> {
  const { applicationId, bankId } = ref;
  const decisions = new DecisionInbox(() => watch.withdrawn !== undefined);

  const atChannel = await delivery.deliverToChannel({ applicationId, hopId: ref.riskHopId, bankId });
  if (atChannel.status === 'refused') return refused(applicationId, atChannel);
  const handoff = await delivery.deliverRedirect({ applicationId, hopId: ref.redirectHopId });
  if (handoff.status === 'refused') return refused(applicationId, handoff);

  if (!(await condition(() => claim.claimed, ref.claimTimeoutMs))) {
    await callbacks.notifyPlatform({ applicationId, final: 'expired', reasonCode: 'REDIRECT_NOT_CLAIMED' });
    return { status: 'expired', reasonCode: 'REDIRECT_NOT_CLAIMED' };
  }
  const answer = await askBank(decisions, { applicationId, bankId, position: 0, reportHopId: atChannel.nextHopId, decisionTimeoutMs: ref.decisionTimeoutMs });
  if ('refused' in answer || 'timedOut' in answer) {
    const reasonCode = 'refused' in answer ? answer.refused : 'DECISION_TIMEOUT';
    await callbacks.notifyPlatform({ applicationId, final: 'no_funding', reasonCode });
    return { status: 'no_funding', reasonCode };
  }
  const decision = answer.decided;
  const final = decision.outcome.status;
  await callbacks.notifyPlatform({ applicationId, hopId: decision.hopId, final, ...(decision.outcome.reasonCode ? { reasonCode: decision.outcome.reasonCode } : {}) });
  return final === 'approved' ? { status: 'approved', bankId, decisionHopId: decision.hopId } : { status: 'declined', decisionHopId: decision.hopId, ...(decision.outcome.reasonCode ? { reasonCode: decision.outcome.reasonCode } : {}) };
}
