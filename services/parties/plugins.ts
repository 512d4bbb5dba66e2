/**
 * The business logic of a channel and of a bank, as plug-ins: the reference party keeps the
 * sealing, receipts, notices, at-rest vault and retries, and calls these for the decisions that
 * are the organisation's own. The reference policies below are the defaults.
 */
import { createHash } from 'node:crypto';
import type { Model } from '../domain/hops';
import type { DecisionOutcome, Fields, Provenance } from '../seal/hop';

/** A channel's credit product (信用产品) for one application, and what each bank gets of it. */
export interface ChannelPolicy {
  /** The product's name and version, named in every credit report's provenance (PIPL Art. 24). */
  product: Provenance;
  /** The product's fields (product.*) computed from the application the channel opened. */
  score(fields: Fields): Fields | Promise<Fields>;
  /**
   * What a bank receives: the reference policy gives it exactly what the minimisation policy
   * allows that bank in that model (`allowed`). The router checks it again and refuses more.
   */
  reportFor(input: { application: Fields; product: Fields; bankId: string; model: Model; allowed: (field: string) => boolean }): Fields;
}

/** A bank's credit decision (授信决策): the bank's own, never outsourced. */
export interface DecisionEngine {
  /** The decision model's name and version, named in every decision's provenance. */
  model: Provenance;
  decide(fields: Fields): BankDecision | Promise<BankDecision>;
}

export interface BankDecision {
  outcome: DecisionOutcome;
  /** decision.* fields: status, limit, rate, term or reason code. */
  fields: Fields;
}

export const DEFAULT_PRODUCT: Provenance = { name: 'DZL-CreditScore', version: '2026.11' };
export const DEFAULT_BANK_MODEL: Provenance = { name: 'DZL-RefBank-Policy', version: '2026.11' };

/** A deterministic stand-in for a channel's model: the same application gives the same product. */
export function scoreApplication(fields: Fields, product: Provenance = DEFAULT_PRODUCT): Fields {
  const platformScore = typeof fields['risk.platformScore'] === 'number' ? (fields['risk.platformScore'] as number) : 500;
  const multiLoan = typeof fields['risk.multiLoanCount'] === 'number' ? (fields['risk.multiLoanCount'] as number) : 0;
  const income = typeof fields['customer.monthlyIncome'] === 'number' ? (fields['customer.monthlyIncome'] as number) : 0;
  const jitter = createHash('sha256').update(String(fields['customer.idNumber'] ?? '')).digest()[0]! % 21;
  const score = Math.max(300, Math.min(850, Math.round(300 + platformScore * 0.45 + Math.min(income / 1000, 150) - multiLoan * 25 + jitter)));
  const labels = [...(multiLoan >= 4 ? ['MULTI_LOAN_HIGH'] : []), ...(income >= 1_000_000 ? ['INCOME_STABLE'] : []), ...(score < 550 ? ['THIN_FILE'] : [])];
  const antiFraud = multiLoan >= 8 ? 'reject' : multiLoan >= 5 ? 'review' : 'pass';
  return { 'product.name': product.name, 'product.version': product.version, 'product.score': score, 'product.riskLabels': labels, 'product.antiFraud': antiFraud };
}

export function referenceChannelPolicy(product: Provenance = DEFAULT_PRODUCT): ChannelPolicy {
  return {
    product,
    score: (fields) => scoreApplication(fields, product),
    reportFor: ({ application, product: p, allowed }) => Object.fromEntries(Object.entries({ ...application, ...p }).filter(([f]) => allowed(f))),
  };
}

/** The reference credit policy: a score cutoff, a limit that grows with the score, a rate that falls. */
export function decide(fields: Fields, cutoff = 600): BankDecision {
  const score = Number(fields['product.score'] ?? 0);
  const amount = Number(fields['loan.amount'] ?? 0);
  const term = Number(fields['loan.termMonths'] ?? 12);
  if (fields['product.antiFraud'] === 'reject') {
    return { outcome: { status: 'declined', reasonCode: 'ANTI_FRAUD_REJECT' }, fields: { 'decision.status': 'declined', 'decision.reasonCode': 'ANTI_FRAUD_REJECT' } };
  }
  if (score < cutoff) {
    return { outcome: { status: 'declined', reasonCode: 'SCORE_BELOW_CUTOFF' }, fields: { 'decision.status': 'declined', 'decision.reasonCode': 'SCORE_BELOW_CUTOFF' } };
  }
  const cap = (score - cutoff + 50) * 200_000; // fen: a better score earns a higher limit
  const limit = Math.min(amount, cap);
  const apr = Math.max(720, 2400 - (score - cutoff) * 8);
  return { outcome: { status: 'approved' }, fields: { 'decision.status': 'approved', 'decision.limit': limit, 'decision.aprBasisPoints': apr, 'decision.termMonths': term } };
}

export function referenceDecisionEngine(cutoff = 600, model: Provenance = DEFAULT_BANK_MODEL): DecisionEngine {
  return { model, decide: (fields) => decide(fields, cutoff) };
}
