/**
 * The customer's consent as the router needs it to route: which recipients it names, for what,
 * until when. It carries no personal data: the text is referenced by version and hash.
 */
import { DzlError } from '../common/errors';

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
}

/** A consent with its current state, per recipient (withdrawal may name some recipients only). */
export interface ConsentStatus {
  consent: Consent;
  /** Recipients whose consent was withdrawn, with when. */
  withdrawn: Record<string, string>;
}

export function consentNames(consent: Consent, partyId: string): boolean {
  return consent.recipients.includes(partyId);
}

export function checkConsentCovers(consent: Consent, recipient: string, at: Date): void {
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

/** Validates a consent declaration from a platform request; REQUEST_MALFORMED names the member. */
export function parseConsent(input: unknown, platformId: string): Consent {
  const c = (input ?? {}) as Record<string, unknown>;
  const bad = (member: string, want: string) =>
    new DzlError('REQUEST_MALFORMED', `consent.${member} must be ${want}`, { member: `consent.${member}` });
  if (typeof c.id !== 'string' || !ID.test(c.id)) throw bad('id', 'an identifier');
  if (typeof c.textVersion !== 'string' || !ID.test(c.textVersion)) throw bad('textVersion', 'an identifier');
  if (typeof c.textSha256 !== 'string' || !HEX64.test(c.textSha256)) throw bad('textSha256', 'lowercase hex SHA-256 of the text shown');
  const list = (name: string): string[] => {
    const v = c[name];
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || !ID.test(x))) {
      throw bad(name, 'a non-empty array of identifiers');
    }
    return v as string[];
  };
  const time = (name: string): string => {
    const v = c[name];
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw bad(name, 'an RFC 3339 timestamp');
    return new Date(v).toISOString();
  };
  return {
    id: c.id,
    platformId,
    textVersion: c.textVersion,
    textSha256: c.textSha256,
    purposes: list('purposes'),
    recipients: list('recipients'),
    grantedAt: time('grantedAt'),
    expiresAt: time('expiresAt'),
  };
}

/** Same terms: what a platform declares again under an existing consent id must not differ. */
export function sameConsent(a: Consent, b: Consent): boolean {
  const terms = (c: Consent) => JSON.stringify([c.id, c.platformId, c.textVersion, c.textSha256, [...c.purposes].sort(), [...c.recipients].sort(), Date.parse(c.grantedAt), Date.parse(c.expiresAt)]);
  return terms(a) === terms(b);
}
