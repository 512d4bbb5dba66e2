/** The router's signed notices to parties holding an application's data, and why they are sent. */
export const NOTICE_KINDS = ['consent_withdrawn', 'delete_data'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

export const NOTICE_REASONS = ['CONSENT_WITHDRAWN', 'DECLINED', 'NO_FUNDING', 'EXPIRED', 'REFUSED', 'FAILED', 'RETENTION_ELAPSED'] as const;
export type NoticeReason = (typeof NOTICE_REASONS)[number];

export function isNoticeReason(v: unknown): v is NoticeReason {
  return typeof v === 'string' && (NOTICE_REASONS as readonly string[]).includes(v);
}
