/**
 * The customer's consent as the router needs it to route: which recipients it names, for what,
 * until when. It carries no personal data: the text is referenced by version and hash.
 */
import { DzlError } from '../common/errors';
import { inNamespace } from '../domain/ids';

export interface Consent {
  id: string;
  platformId: string;
  textVersion: string;
  textSha256: string;
  purposes: string[];
  /** Separate consent per recipient (PIPL Art. 23): the channel and each bank, by party id. */
  recipients: string[];
  grantedAt: string;
  expiresAt: string;
  /** The party that collected it: the platform, or in the redirect model the bank on its own page. */
  createdBy?: string;
  /** The bank's own consent (redirect model) belongs to one application. */
  applicationId?: string;
  /** When the customer agreed, and a digest of the device they agreed on (base64url SHA-256, hashed by the party). */
  actedAt?: string;
  deviceDigest?: string;
  /**
   * State, not terms: recipients whose consent was withdrawn, with when ('*' for all of them).
   * Filled from the consent's history when loaded; never part of the recorded consent leaf.
   */
  withdrawn?: Record<string, string>;
}

/** The terms as recorded in the evidence: everything but the state. */
export function consentTerms(c: Consent): Consent {
  const { withdrawn: _state, ...terms } = c;
  return terms;
}

/** When the recipient's consent was withdrawn (its own or all recipients'), if it was. */
export function withdrawnFor(consent: Consent, recipient: string): string | undefined {
  return consent.withdrawn?.['*'] ?? consent.withdrawn?.[recipient];
}

export function consentNames(consent: Consent, partyId: string): boolean {
  return consent.recipients.includes(partyId);
}

export function checkConsentCovers(consent: Consent, recipient: string, at: Date): void {
  const withdrawn = withdrawnFor(consent, recipient);
  if (withdrawn) {
    throw new DzlError('CONSENT_WITHDRAWN', `the customer withdrew consent ${consent.id} for ${recipient} at ${withdrawn}; nothing more may be sent under it`, {
      consent: consent.id,
      party: recipient,
    });
  }
  if (at > new Date(consent.expiresAt)) {
    throw new DzlError('CONSENT_EXPIRED', `consent ${consent.id} expired at ${consent.expiresAt}`, { consent: consent.id });
  }
  if (at < new Date(consent.grantedAt)) {
    throw new DzlError('CONSENT_EXPIRED', `consent ${consent.id} is not granted until ${consent.grantedAt}`, { consent: consent.id });
  }
  if (!consentNames(consent, recipient)) {
    throw new DzlError('CONSENT_DOES_NOT_NAME_RECIPIENT', `consent ${consent.id} does not name ${recipient} as a recipient`, {
      consent: consent.id,
      party: recipient,
    });
  }
}

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const DIGEST = /^[A-Za-z0-9_-]{43}$/;

/** A device digest: the base64url SHA-256 a party computed of the device identifier. */
export function isDeviceDigest(v: unknown): v is string {
  return typeof v === 'string' && DIGEST.test(v);
}
export const CONSENT_MEMBERS: ReadonlySet<string> = new Set(['id', 'platformId', 'textVersion', 'textSha256', 'purposes', 'recipients', 'grantedAt', 'expiresAt', 'actedAt', 'deviceDigest', 'applicationId']);
/** Recipients and purposes per consent: a consent names a channel and a handful of banks. */
const MAX_LIST = 32;

/**
 * Validates a consent declaration from a request; REQUEST_MALFORMED names the member. `collectedBy`
 * is the party that collected it (the platform, or in the redirect model the bank), whose
 * namespace its id must be in.
 */
export function parseConsent(input: unknown, platformId: string, collectedBy: string = platformId): Consent {
  const c = (input ?? {}) as Record<string, unknown>;
  const bad = (member: string, want: string) =>
    new DzlError('REQUEST_MALFORMED', `consent.${member} must be ${want}`, { member: `consent.${member}` });
  if (typeof c.id !== 'string' || !ID.test(c.id)) throw bad('id', 'an identifier');
  // a consent carries no free text: a member it does not define is refused, never dropped unseen
  if (Object.keys(c).some((k) => !CONSENT_MEMBERS.has(k)) || (c.platformId !== undefined && c.platformId !== platformId)) {
    throw new DzlError('REQUEST_MALFORMED', 'consent has a member this version does not define (or names another platform)', { member: 'consent' });
  }
  if (!inNamespace(c.id, collectedBy)) {
    throw new DzlError('ID_OUTSIDE_NAMESPACE', 'consent.id must begin with the id of the party that collected the consent and a colon (<party>:…)', { member: 'consent.id' });
  }
  if (typeof c.textVersion !== 'string' || !ID.test(c.textVersion)) throw bad('textVersion', 'an identifier');
  if (typeof c.textSha256 !== 'string' || !HEX64.test(c.textSha256)) throw bad('textSha256', 'lowercase hex SHA-256 of the text shown');
  const list = (name: string): string[] => {
    const v = c[name];
    if (!Array.isArray(v) || v.length === 0 || v.length > MAX_LIST || v.some((x) => typeof x !== 'string' || !ID.test(x))) {
      throw bad(name, `a non-empty array of at most ${MAX_LIST} identifiers`);
    }
    return v as string[];
  };
  const time = (name: string): string => {
    const v = c[name];
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw bad(name, 'an RFC 3339 timestamp');
    return new Date(v).toISOString();
  };
  if (c.deviceDigest !== undefined && !isDeviceDigest(c.deviceDigest)) {
    throw bad('deviceDigest', 'the base64url SHA-256 (43 characters) of the device identifier, hashed by you: never the identifier itself');
  }
  if (c.applicationId !== undefined && (typeof c.applicationId !== 'string' || !ID.test(c.applicationId))) throw bad('applicationId', 'an identifier');
  const consent: Consent = {
    id: c.id,
    platformId,
    textVersion: c.textVersion,
    textSha256: c.textSha256,
    purposes: list('purposes'),
    recipients: list('recipients'),
    grantedAt: time('grantedAt'),
    expiresAt: time('expiresAt'),
    ...(c.actedAt !== undefined ? { actedAt: time('actedAt') } : {}),
    ...(typeof c.deviceDigest === 'string' ? { deviceDigest: c.deviceDigest } : {}),
    ...(typeof c.applicationId === 'string' ? { applicationId: c.applicationId } : {}),
  };
  if (Date.parse(consent.expiresAt) <= Date.parse(consent.grantedAt)) throw bad('expiresAt', 'later than grantedAt');
  return consent;
}

/** Same terms: what a platform declares again under an existing consent id must not differ. */
export function sameConsent(a: Consent, b: Consent): boolean {
  const terms = (c: Consent) =>
    JSON.stringify([c.id, c.platformId, c.textVersion, c.textSha256, [...c.purposes].sort(), [...c.recipients].sort(), Date.parse(c.grantedAt), Date.parse(c.expiresAt), c.createdBy ?? c.platformId, c.applicationId ?? null]);
  return terms(a) === terms(b);
}
