/**
 * The router's notice to a party holding an application's data (contracts/envelope.md §21.2),
 * declared once: the router signs bytes of this shape, the party acts only on a notice that passes
 * `checkNoticeBody`, and the verifier checks notice leaves with the same function, so a party can
 * never act on a notice the verifier would reject.
 */
import { Type, type Static } from '@sinclair/typebox';
import { NOTICE_KINDS, NOTICE_REASONS } from '../domain/notices';
import { parseCanonical } from '../seal/canonical';
import { Id, OneOf, Timestamp, checker } from './schema';

export const NoticeBody = Type.Object(
  {
    v: Type.Literal(1),
    noticeId: Id,
    kind: OneOf(NOTICE_KINDS),
    applicationId: Id,
    consentId: Id,
    /** The party that must act: stop processing (consent_withdrawn) and delete (both kinds). */
    to: Id,
    /** The application's hops this party received, whose data the notice concerns. */
    hops: Type.Array(Id),
    reason: OneOf(NOTICE_REASONS),
    issuedAt: Timestamp,
    by: Id,
    keyId: Type.String(),
  },
  { additionalProperties: false },
);
export type NoticeBody = Static<typeof NoticeBody>;

const isNoticeBody = checker(NoticeBody);

/** The notice the bytes encode, or why they encode none (not canonical JSON, or not of the format). */
export function checkNoticeBody(bytes: Uint8Array): { ok: true; body: NoticeBody } | { ok: false; reason: string } {
  const parsed = parseCanonical(bytes);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'notice bytes are not canonical JSON of an object' };
  if (!isNoticeBody(parsed)) return { ok: false, reason: `notice ${isNoticeBody.problem()}` };
  return { ok: true, body: parsed };
}
