/**
 * What the reference parties of a local network did, as their observers saw it: the demo prints
 * from it and tests assert on it, without the parties keeping lists for them.
 */
import type { NoticeBody } from '../evidence/lifecycle';
import type { PartyObserver } from '../parties/observer';
import type { DecisionOutcome } from '../seal/hop';

export class PartyEvents implements PartyObserver {
  /** Applications whose credit report the bank took into its store, in order. */
  readonly received: string[] = [];
  readonly decisions: { applicationId: string; creditReportHopId: string; outcome: DecisionOutcome; product: string }[] = [];
  /** The router's answer to each asynchronous decision, by decision hop id. */
  readonly submitted = new Map<string, { accepted: boolean; code?: string }>();
  /** The router's answer to each disbursement report, by application. */
  readonly disbursed = new Map<string, { hopId: string; accepted: boolean; code?: string }>();
  /** Decisions the router refused, as its signed rejections told the bank: decision hop id → code. */
  readonly refusedDecisions = new Map<string, string>();
  /** Notices the party verified and acted on, each once. */
  readonly notices: NoticeBody[] = [];

  creditReportReceived(e: { applicationId: string }): void {
    this.received.push(e.applicationId);
  }

  decided(e: PartyEvents['decisions'][number]): void {
    this.decisions.push(e);
  }

  decisionSubmitted(e: { hopId: string; accepted: boolean; code?: string }): void {
    this.submitted.set(e.hopId, { accepted: e.accepted, ...(e.code ? { code: e.code } : {}) });
  }

  decisionRefused(e: { hopId: string; code: string }): void {
    this.refusedDecisions.set(e.hopId, e.code);
  }

  disbursementReported(e: { applicationId: string; hopId: string; accepted: boolean; code?: string }): void {
    this.disbursed.set(e.applicationId, { hopId: e.hopId, accepted: e.accepted, ...(e.code ? { code: e.code } : {}) });
  }

  noticeActedOn(n: NoticeBody): void {
    if (!this.notices.some((x) => x.noticeId === n.noticeId)) this.notices.push(n);
  }
}
