/**
 * A refusal as the ledger may keep it (envelope.md §19.2): the ids it names only when the router
 * holds them and the refusing party may see them, and a message in which every caller value is a
 * `‹len:digest›` token (services/common/redact.ts). One place, used by recordRefusal, the HTTP
 * error responder and the gRPC status mapping alike.
 */
import { callerValues, redact, redactDetails, valueToken, type CallerValues } from '../common/redact';
import type { DzlError } from '../common/errors';
import { ERROR_CODES } from '../domain/errorCodes';
import { APPLICATION_STATES } from '../domain/applications';
import { CERTIFICATE_USAGES, PARTY_ROLES } from '../domain/parties';
import { DECISION_STATUSES, FIELD_CLASSES, HOP_KINDS, MODELS } from '../domain/hops';
import { LEAF_KINDS } from '../domain/leaves';
import { NOTICE_KINDS, NOTICE_REASONS } from '../domain/notices';
import { catalogueFields } from '../fields/catalogue';
import { CONSENT_MEMBERS } from '../consent/consent';
import { decodeHop, HEADER_MEMBERS } from '../seal/hop';
import { RECEIPT_MEMBERS } from '../seal/receipt';
import { NOTE_FAILURES } from '../evidence/note';
import { getApplication } from '../store/applications';
import type { Conn } from '../store/db';
import { getNotice } from '../store/notices';
import { getSealedHop, recipientsOf } from '../store/sealedHops';

/** What dzl itself defines: safe to name in any message. */
const DEFINED = new Set<string>([
  ...Object.keys(ERROR_CODES),
  ...APPLICATION_STATES,
  ...CERTIFICATE_USAGES,
  ...PARTY_ROLES,
  ...DECISION_STATUSES,
  ...FIELD_CLASSES,
  ...HOP_KINDS,
  ...MODELS,
  ...LEAF_KINDS,
  ...NOTICE_KINDS,
  ...NOTICE_REASONS,
  ...catalogueFields(),
  // the member names of dzl's own formats: a message names the member it refused
  ...HEADER_MEMBERS,
  ...RECEIPT_MEMBERS,
  ...CONSENT_MEMBERS,
  ...['header', 'signature', 'wrappedKey', 'iv', 'ciphertext', 'receipt', 'hop', 'consent', 'consentId', 'callbackUrl', 'riskHop', 'redirectHop', 'bank', 'token', 'line', 'field', 'class', 'digest', 'salt', 'fields', 'decision', 'status'],
  ...NOTE_FAILURES,
]);

export function vocabulary(parties: Iterable<string>, ids: Iterable<string> = []): Set<string> {
  return new Set([...DEFINED, ...parties, ...ids]);
}

/** The caller's values in what it sent, a sealed hop's header included (its ids, its manifest's fields). */
export function valuesOf(...inputs: unknown[]): CallerValues {
  const headers = inputs.flatMap((input) => {
    try {
      return [decodeHop(input).header];
    } catch {
      return [];
    }
  });
  // the headers first: what a message most often names is a header's member
  return callerValues(...headers, ...inputs);
}

/** A DzlError as a caller may be told it: message and details redacted, code and status kept. */
export function redactedError(err: DzlError, values: CallerValues, vocab: ReadonlySet<string>): { code: DzlError['code']; message: string; details: DzlError['details'] } {
  return { code: err.code, message: redact(err.message, values, vocab), details: redactDetails(err.details, values, vocab) };
}

export interface RefusalIds {
  applicationId?: string;
  hopId?: string;
  to?: string;
}

/**
 * The ids a refusal may be filed under: an application the router holds that `from` may see (its
 * platform, a party it was sent to; the router's own refusals see all), a hop or notice of that
 * application, a registered recipient. Anything else is a caller's value and becomes a token, so
 * no party can file evidence under another's application, or probe for one, through a refusal.
 */
export async function refusalIds(db: Conn, from: string | undefined, ids: RefusalIds, parties: ReadonlySet<string>): Promise<{ ids: RefusalIds; known: string[] }> {
  const out: RefusalIds = {};
  const known: string[] = [];
  let applicationId: string | undefined;
  if (ids.applicationId !== undefined) {
    const app = await getApplication(db, ids.applicationId);
    const visible = !!app && (from === undefined || from === 'router' || app.platformId === from || (await recipientsOf(db, app.id)).includes(from));
    if (visible) applicationId = app.id;
    out.applicationId = visible ? app.id : valueToken(ids.applicationId);
    if (visible) known.push(app.id);
  }
  if (ids.hopId !== undefined) {
    const hop = applicationId ? await getSealedHop(db, ids.hopId) : undefined;
    const notice = applicationId && !hop ? await getNotice(db, ids.hopId) : undefined;
    // and the refusing party's own: a hop it sent or was sent, a notice to it (another bank's hop in the same cascade is not)
    const own = from === undefined || from === 'router' || (hop ? hop.from === from || hop.to === from : notice?.to === from);
    const visible = (hop?.applicationId ?? notice?.applicationId) === applicationId && applicationId !== undefined && own;
    out.hopId = visible ? ids.hopId : valueToken(ids.hopId);
    if (visible) known.push(ids.hopId);
  }
  if (ids.to !== undefined) out.to = parties.has(ids.to) ? ids.to : valueToken(ids.to);
  return { ids: out, known };
}

