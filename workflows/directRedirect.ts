/**
 * One application in the direct-redirect model (直连跳转): the customer applies on the bank's own
 * page, reached with the router's one-time token; the platform's risk data goes only to the
 * channel, keyed by the application; the bank gets the channel's credit product once it has
 * claimed the token; the platform learns the status only.
 */
import { condition, defineUpdate, setHandler } from '@temporalio/workflow';
import { DecisionInbox } from './decisions';
import { conclude, deliverRedirect, deliverToBank, deliverToChannel, notifyPlatform, recordAttempt, type ApplicationResult } from './dataChannel';
import { WithdrawalWatch, type RetentionPolicy } from './lifecycle';

export interface RedirectRef {
  applicationId: string;
  /** platform → channel: the platform's risk fields, sealed for the channel. */
  riskHopId: string;
  /** platform → bank: the redirect token, nothing personal. */
  redirectHopId: string;
  bankId: string;
  claimTimeoutMs: number;
  decisionTimeoutMs: number;
  retention?: RetentionPolicy;
}

/** The bank has claimed the token: the customer applied on its page. Refused after the first. */
export const claimUpdate = defineUpdate<void, []>('claim');

export async function directRedirectApplication(ref: RedirectRef): Promise<ApplicationResult> {
  const claim = { claimed: false };
  const watch = new WithdrawalWatch();
  setHandler(claimUpdate, () => void (claim.claimed = true), {
    validator: () => {
      if (watch.withdrawn) throw new Error('CONSENT_WITHDRAWN: the customer withdrew consent; this application is stopped');
      if (claim.claimed) throw new Error('REDIRECT_TOKEN_USED');
    },
  });
  return conclude(ref.applicationId, watch, () => redirectFlow(ref, claim, watch), ref.retention);
}

async function redirectFlow(ref: RedirectRef, claim: { claimed: boolean }, watch: WithdrawalWatch): Promise<ApplicationResult> {
  const { applicationId, bankId } = ref;
  const decisions = new DecisionInbox(() => watch.withdrawn !== undefined);

  const atChannel = await deliverToChannel({ applicationId, hopId: ref.riskHopId, bankId });
  if (atChannel.status === 'refused') return atChannel;
  const handoff = await deliverRedirect({ applicationId, hopId: ref.redirectHopId });
  if (handoff.status === 'refused') return handoff;

  if (!(await condition(() => claim.claimed, ref.claimTimeoutMs))) {
    await notifyPlatform({ applicationId, final: 'expired', reasonCode: 'REDIRECT_NOT_CLAIMED' });
    return { status: 'expired', reasonCode: 'REDIRECT_NOT_CLAIMED' };
  }
  decisions.expect(bankId);
  const atBank = await deliverToBank({ applicationId, hopId: atChannel.nextHopId });
  if (atBank.status === 'refused') {
    await recordAttempt({ applicationId, bankId, position: 0, outcome: 'refused', reasonCode: atBank.code });
    await notifyPlatform({ applicationId, final: 'no_funding', reasonCode: atBank.code });
    return atBank;
  }
  if (atBank.status === 'decided') decisions.take({ bankId, hopId: atBank.nextHopId, outcome: atBank.outcome, recorded: true });
  const decision = await decisions.wait(bankId, ref.decisionTimeoutMs);
  if (!decision) {
    await recordAttempt({ applicationId, bankId, position: 0, outcome: 'timeout', reasonCode: 'DECISION_TIMEOUT' });
    await notifyPlatform({ applicationId, final: 'no_funding', reasonCode: 'DECISION_TIMEOUT' });
    return { status: 'no_funding', reasonCode: 'DECISION_TIMEOUT' };
  }
  if (!decision.recorded) await recordAttempt({ applicationId, bankId, position: 0, outcome: decision.outcome.status, hopId: decision.hopId, ...(decision.outcome.reasonCode ? { reasonCode: decision.outcome.reasonCode } : {}) });
  const final = decision.outcome.status;
  await notifyPlatform({ applicationId, hopId: decision.hopId, final, ...(decision.outcome.reasonCode ? { reasonCode: decision.outcome.reasonCode } : {}) });
  return final === 'approved' ? { status: 'approved', bankId, decisionHopId: decision.hopId } : { status: 'declined', decisionHopId: decision.hopId, ...(decision.outcome.reasonCode ? { reasonCode: decision.outcome.reasonCode } : {}) };
}
