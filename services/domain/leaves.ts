/** The kinds of fact the evidence log holds, one leaf each. */
export const LEAF_KINDS = ['hop', 'receipt', 'refusal', 'party', 'consent', 'consent_state', 'notice', 'deletion'] as const;
export type LeafKind = (typeof LEAF_KINDS)[number];
