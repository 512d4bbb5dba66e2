/**
 * What happens at a reference party, for whoever wants to watch — an operator's log, a metric, a
 * test — without the party keeping lists for them. Every event carries ids and codes only.
 */
import type { NoticeBody } from '../evidence/lifecycle';
import type { DecisionOutcome } from '../seal/hop';

export interface PartyObserver {
  /** A bank took a credit report into its store. */
  creditReportReceived?(e: { applicationId: string; hopId: string }): void;
  /** A bank decided, on the channel's product named here. */
  decided?(e: { applicationId: string; creditReportHopId: string; outcome: DecisionOutcome; product: string }): void;
  /** A bank's asynchronous decision, and what the router answered. */
  decisionSubmitted?(e: { applicationId: string; hopId: string; accepted: boolean; code?: string }): void;
  /** The router refused a decision the bank returned with a delivery (its signed rejection). */
  decisionRefused?(e: { applicationId: string; hopId: string; code: string }): void;
  /** A bank's disbursement report, and what the router answered. */
  disbursementReported?(e: { applicationId: string; hopId: string; accepted: boolean; code?: string }): void;
  /** A notice the party verified and acted on (stopped, deleted) before acknowledging it. */
  noticeActedOn?(notice: NoticeBody): void;
}
