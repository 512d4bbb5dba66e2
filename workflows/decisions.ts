/**
 * Waiting for a bank's decision, shared by both models: a decision arrives with the delivery's
 * answer, or later as the `decision` update, which the validator refuses unless that bank is
 * awaited — so a decision after its timeout is refused atomically with the timeout itself.
 */
import { condition, setHandler } from '@temporalio/workflow';
import { awaitingQuery, decisionUpdate, type DecisionArrived } from '../services/orchestration/contract';
import { refusal } from '../services/orchestration/failures';

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
