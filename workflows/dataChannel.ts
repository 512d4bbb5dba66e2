/**
 * One application through the risk-control data channel (风控数据通道模式), with its funding
 * cascade (资方路由): platform → channel (credit product) → bank (decision); on a decline or a
 * decision timeout, the channel's report for the next eligible bank, and so on; the platform
 * learns the outcome.
 *
 * Deterministic and free of I/O and crypto: the workflow carries ids and outcome codes only;
 * the sealed bytes live in the router's store and move in activities, and each activity
 * appends the application's state with its evidence.
 */
import type { ApplicationRef, ApplicationResult, DecisionArrived, Refused } from '../services/orchestration/contract';
import { callbacks, delivery } from './activities';
import { askBank, DecisionInbox } from './decisions';
import { conclude, WithdrawalWatch } from './lifecycle';

export async function dataChannelApplication(ref: ApplicationRef): Promise<ApplicationResult> {
  const watch = new WithdrawalWatch();
  return conclude(ref.applicationId, watch, () => dataChannelFlow(ref, watch), ref.retention);
}

async function dataChannelFlow(ref: ApplicationRef, watch: WithdrawalWatch): Promise<ApplicationResult> {
  const { applicationId } = ref;
  const decisions = new DecisionInbox(() => watch.withdrawn !== undefined);

  const first = ref.candidates[0]!;
  const atChannel = await delivery.deliverToChannel({ applicationId, hopId: ref.intakeHopId, bankId: first.bankId });
  if (atChannel.status === 'refused') return refused(applicationId, atChannel);

  let lastDecline: DecisionArrived | undefined;
  for (const [position, { bankId, decisionTimeoutMs }] of ref.candidates.entries()) {
    let reportHopId = atChannel.nextHopId;
    if (position > 0) {
      const report = await delivery.requestCreditReport({ applicationId, applicationHopId: ref.intakeHopId, bankId });
      if (report.status === 'refused') {
        await delivery.recordAttempt({ applicationId, bankId, position, outcome: 'refused', reasonCode: report.code });
        continue;
      }
      reportHopId = report.nextHopId;
    }
    const answer = await askBank(decisions, { applicationId, bankId, position, reportHopId, decisionTimeoutMs });
    if (!('decided' in answer)) continue;
    const decision = answer.decided;
    if (decision.outcome.status === 'approved') {
      await callbacks.notifyPlatform({ applicationId, hopId: decision.hopId, final: 'approved' });
      return { status: 'approved', bankId, decisionHopId: decision.hopId };
    }
    lastDecline = decision;
  }

  // No bank approved: one candidate that declined is its decline; otherwise, no funding.
  const final = ref.candidates.length === 1 && lastDecline ? 'declined' : 'no_funding';
  const reasonCode = final === 'declined' ? lastDecline?.outcome.reasonCode : 'NO_FUNDING';
  await callbacks.notifyPlatform({ applicationId, ...(lastDecline ? { hopId: lastDecline.hopId } : {}), final, ...(reasonCode ? { reasonCode } : {}) });
  return { status: final, ...(lastDecline ? { decisionHopId: lastDecline.hopId } : {}), ...(reasonCode ? { reasonCode } : {}) };
}

/** The application ends refused (by the rules, or by a party): the platform is told, with the code. */
export async function refused(applicationId: string, r: Refused): Promise<ApplicationResult> {
  await callbacks.notifyPlatform({ applicationId, final: 'refused', reasonCode: r.code });
  return r;
}
