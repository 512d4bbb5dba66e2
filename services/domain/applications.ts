/**
 * An application's life as the router records it: an append-only history of states, each
 * entered at most once. The database holds the same set (the application_state_names rows) and
 * refuses any other name.
 */
export const APPLICATION_STATES = [
  /** the router took custody of the first hop and started the workflow */
  'accepted',
  /** the channel answered with a credit report the router took into custody */
  'credit_report_sealed',
  /** the bank claimed the redirect token: the customer applied on its page */
  'claimed_by_bank',
  /** a hop of the application was refused; the application ended */
  'refused',
  // final outcomes, told to the platform
  'approved',
  'declined',
  'no_funding',
  'expired',
  'withdrawn',
  /** the platform acknowledged the outcome with a signed receipt (or had no hop to receive) */
  'platform_notified',
  /** the platform refused the decision hop with a signed rejection */
  'platform_rejected_decision',
  /** the approving bank reported the disbursement */
  'disbursed',
  /** retention erased the sealed payloads; the signed headers (the evidence) stay */
  'payloads_erased',
] as const;
export type ApplicationState = (typeof APPLICATION_STATES)[number];

/** The outcome a workflow ends with and the platform learns by callback. */
export const FINAL_OUTCOMES = ['approved', 'declined', 'no_funding', 'expired', 'withdrawn', 'refused'] as const satisfies readonly ApplicationState[];
export type FinalOutcome = (typeof FINAL_OUTCOMES)[number];

/** The outcomes that answer "what did the banks decide" (GET /v1/applications/{id}: decision). */
export const DECIDED_STATES = ['approved', 'declined', 'no_funding', 'expired'] as const satisfies readonly ApplicationState[];

/** One bank's attempt in the funding cascade. */
export const ATTEMPT_OUTCOMES = ['approved', 'declined', 'timeout', 'refused'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export function isApplicationState(v: unknown): v is ApplicationState {
  return typeof v === 'string' && (APPLICATION_STATES as readonly string[]).includes(v);
}

export function isFinalOutcome(v: unknown): v is FinalOutcome {
  return typeof v === 'string' && (FINAL_OUTCOMES as readonly string[]).includes(v);
}
