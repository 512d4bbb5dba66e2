/** The hops a network carries, the two compliant models, and the JR/T 0171-2020 field classes. */
export const HOP_KINDS = ['application', 'credit_report', 'decision', 'redirect', 'disbursement'] as const;
export type HopKind = (typeof HOP_KINDS)[number];

/** 风控数据通道模式 and 直连跳转模式. */
export const MODELS = ['data_channel', 'direct_redirect'] as const;
export type Model = (typeof MODELS)[number];

/** C3 authentication data (never carried), C2 personal financial information, C1 internal. */
export const FIELD_CLASSES = ['C1', 'C2', 'C3'] as const;
export type FieldClass = (typeof FIELD_CLASSES)[number];

/** What a bank's decision says in its signed header (amounts and rates stay sealed). */
export const DECISION_STATUSES = ['approved', 'declined'] as const;
export type DecisionStatus = (typeof DECISION_STATUSES)[number];

export function isHopKind(v: unknown): v is HopKind {
  return typeof v === 'string' && (HOP_KINDS as readonly string[]).includes(v);
}

export function isModel(v: unknown): v is Model {
  return typeof v === 'string' && (MODELS as readonly string[]).includes(v);
}
