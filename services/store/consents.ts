/**
 * `consents` (a consent's terms, fixed once registered) and `consent_events` (its append-only
 * history: granted, withdrawn for all or some recipients, expired). A consent's current state is
 * read from its history, never from a column updated in place.
 */
import type { Consent } from '../consent/consent';
import { forUpdate, insertIgnore, toMs, type Conn } from './db';

export type ConsentState = 'granted' | 'withdrawn' | 'expired';

export interface ConsentEvent {
  state: ConsentState;
  /** '*' for all of the consent's recipients. */
  recipients: string[] | '*';
  by: string;
  /** When the customer acted (or the validity ended), epoch ms. */
  at: number;
  deviceDigest?: string;
  recordedAt: number;
}

export async function saveConsent(db: Conn, c: Consent): Promise<boolean> {
  return insertIgnore(
    db,
    'consents',
    {
      id: c.id,
      platform_id: c.platformId,
      text_version: c.textVersion,
      text_sha256: c.textSha256,
      purposes_json: JSON.stringify(c.purposes),
      recipients_json: JSON.stringify(c.recipients),
      granted_at: Date.parse(c.grantedAt),
      expires_at: Date.parse(c.expiresAt),
      created_by: c.createdBy ?? c.platformId,
      application_id: c.applicationId ?? null,
      acted_at: c.actedAt ? Date.parse(c.actedAt) : null,
      device_digest: c.deviceDigest ?? null,
      created_at: Date.now(),
    },
    'id',
  );
}

/** A consent's terms and its current withdrawals (from its history). */
export async function getConsent(db: Conn, id: string): Promise<Consent | undefined> {
  const r = await db('consents').where({ id }).first();
  if (!r) return undefined;
  const withdrawn: Record<string, string> = {};
  for (const e of await db('consent_events').where({ consent_id: id, state: 'withdrawn' }).orderBy('seq')) {
    const at = new Date(toMs(e.at)).toISOString();
    for (const who of e.recipients === '*' ? ['*'] : (JSON.parse(e.recipients) as string[])) withdrawn[who] ??= at;
  }
  return {
    id: r.id,
    platformId: r.platform_id,
    textVersion: r.text_version,
    textSha256: r.text_sha256,
    purposes: JSON.parse(r.purposes_json) as string[],
    recipients: JSON.parse(r.recipients_json) as string[],
    grantedAt: new Date(toMs(r.granted_at)).toISOString(),
    expiresAt: new Date(toMs(r.expires_at)).toISOString(),
    ...(r.created_by && r.created_by !== r.platform_id ? { createdBy: r.created_by as string } : {}),
    ...(r.application_id ? { applicationId: r.application_id as string } : {}),
    ...(r.acted_at ? { actedAt: new Date(toMs(r.acted_at)).toISOString() } : {}),
    ...(r.device_digest ? { deviceDigest: r.device_digest as string } : {}),
    ...(Object.keys(withdrawn).length > 0 ? { withdrawn } : {}),
  };
}

/**
 * Appends an event unless the same (consent, state, recipients key) is there: a repeated
 * withdrawal records nothing twice. `recipientsKey` is '*' or a fixed-length digest of the list.
 */
export async function appendConsentEvent(db: Conn, consentId: string, recipientsKey: string, e: Omit<ConsentEvent, 'recordedAt'>): Promise<boolean> {
  return insertIgnore(
    db,
    'consent_events',
    {
      consent_id: consentId,
      state: e.state,
      recipients_key: recipientsKey,
      recipients: e.recipients === '*' ? '*' : JSON.stringify(e.recipients),
      by_party: e.by,
      at: e.at,
      device_digest: e.deviceDigest ?? null,
      recorded_at: Date.now(),
    },
    ['consent_id', 'state', 'recipients_key'],
  );
}

export async function consentEvents(db: Conn, consentId: string): Promise<ConsentEvent[]> {
  return (await db('consent_events').where({ consent_id: consentId }).orderBy('seq')).map((e) => ({
    state: e.state as ConsentState,
    recipients: e.recipients === '*' ? '*' : (JSON.parse(e.recipients) as string[]),
    by: e.by_party as string,
    at: toMs(e.at),
    ...(e.device_digest ? { deviceDigest: e.device_digest as string } : {}),
    recordedAt: toMs(e.recorded_at),
  }));
}

/** The ids of the consents another party (a bank, in the redirect model) filed for one application. */
export async function consentIdsFiledFor(db: Conn, applicationId: string, exceptCreatedBy: string): Promise<string[]> {
  return (await db('consents').where({ application_id: applicationId }).whereNot('created_by', exceptCreatedBy).select('id')).map((r) => r.id as string);
}

/**
 * Holds the consent's row, and those filed for the application, until the transaction ends:
 * custody of a hop and a withdrawal serialise on them. Two selects, each on its own index (an
 * OR could lock the whole table).
 */
export async function lockConsents(trx: Conn, consentId: string, applicationId?: string): Promise<void> {
  await forUpdate(trx, trx('consents').where({ id: consentId }).select('id'));
  if (applicationId) await forUpdate(trx, trx('consents').where({ application_id: applicationId }).select('id'));
}
