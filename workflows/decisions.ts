/**
 * Waiting for a bank's decision, shared by both models: a decision arrives with the delivery's
 * answer, or later as the `decision` update, which the validator refuses unless that bank is
 * awaited — so a decision after its timeout is refused atomically with the timeout itself.
 */
import { condition, isCancellation, setHandler } from '@temporalio/workflow';
import type { ErrorCode } from '../services/domain/errorCodes';
import { awaitingQuery, decisionUpdate, type DecisionArrived } from '../services/orchestration/contract';
import { refusal } from '../services/orchestration/failures';
import { bankDelivery, delivery } from './activities';

export class DecisionInbox {
  private awaiting: string | null = null;
  private readonly arrived = new Map<string, DecisionArrived>();

  /** `withdrawn`: once the customer withdrew consent, no decision is taken, whoever is awaited. */
  constructor(private readonly withdrawn: () => boolean = () => false) {
    setHandler(awaitingQuery, () => this.awaiting);
    setHandler(decisionUpdate, (d) => void this.arrived.set(d.bankId, d), {
      validator: (d) => {
        if (this.withdrawn()) throw refusal('CONSENT_WITHDRAWN', 'the customer withdrew consent; this application is stopped');
        if (d.bankId !== this.awaiting) throw refusal('DECISION_TOO_LATE', `${d.bankId} is not awaited (its decision timeout has passed or it was never asked)`);
      },
    });
  }

  /** From delivery on, an asynchronous answer may overtake the delivery's own result. */
  expect(bankId: string): void {
    this.awaiting = bankId;
  }

  stop(): void {
    this.awaiting = null;
  }

  take(d: DecisionArrived): void {
    this.arrived.set(d.bankId, d);
  }

  /** The bank's decision, or undefined when its timeout passed first. */
  async wait(bankId: string, timeoutMs: number): Promise<DecisionArrived | undefined> {
    // a decision that came with the delivery needs no timer (a timer is two more history events)
    try {
      const inTime = this.arrived.has(bankId) || (await condition(() => this.arrived.has(bankId), timeoutMs));
      return inTime ? this.arrived.get(bankId) : undefined;
    } finally {
      // on time, timed out, or cancelled by a withdrawal: this bank is no longer awaited
      this.stop();
    }
  }
}

export type BankAnswer = { decided: DecisionArrived } | { timedOut: true } | { refused: ErrorCode };

/**
 * One bank's turn, in either model: its credit report delivered, its decision awaited — all within
 * its decision timeout, which runs from the first delivery attempt. A bank that cannot be reached
 * for that long, or never decides, is timed out; an answer that cannot be taken is a refusal of
 * this attempt. The attempt is recorded either way.
 */
export async function askBank(decisions: DecisionInbox, a: { applicationId: string; bankId: string; position: number; reportHopId: string; decisionTimeoutMs: number }): Promise<BankAnswer> {
  const { applicationId, bankId, position } = a;
  const started = Date.now(); // workflow time: the same on every replay
  decisions.expect(bankId);
  let atBank;
  try {
    atBank = await bankDelivery(a.decisionTimeoutMs).deliverToBank({ applicationId, hopId: a.reportHopId });
  } catch (err) {
    decisions.stop();
    if (isCancellation(err)) throw err;
    // transport failures past the bank's budget: timed out like a bank that never answered
    await delivery.recordAttempt({ applicationId, bankId, position, outcome: 'timeout', reasonCode: 'DECISION_TIMEOUT' });
    return { timedOut: true };
  }
  if (atBank.status === 'refused') {
    decisions.stop();
    await delivery.recordAttempt({ applicationId, bankId, position, outcome: 'refused', reasonCode: atBank.code });
    return { refused: atBank.code };
  }
  if (atBank.status === 'decided') decisions.take({ bankId, hopId: atBank.nextHopId, outcome: atBank.outcome, recorded: true });
  const decision = await decisions.wait(bankId, Math.max(0, a.decisionTimeoutMs - (Date.now() - started)));
  if (!decision) {
    await delivery.recordAttempt({ applicationId, bankId, position, outcome: 'timeout', reasonCode: 'DECISION_TIMEOUT' });
    return { timedOut: true };
  }
  if (!decision.recorded) {
    await delivery.recordAttempt({ applicationId, bankId, position, outcome: decision.outcome.status, hopId: decision.hopId, ...(decision.outcome.reasonCode ? { reasonCode: decision.outcome.reasonCode } : {}) });
  }
  return { decided: decision };
}
