/**
 * Applications, their consent, their sealed hops and their append-only state history.
 * Repository functions accept a transaction so one facade can own a multi-table write.
 */
import type { Knex } from 'knex';
import { DzlError } from '../common/errors';
import type { Consent } from '../consent/consent';
import type { SealedHop } from '../seal/hop';
import { insertIgnore, toMs, type Db } from './db';

type Conn = Db | Knex.Transaction;

export interface ApplicationRow {
  id: string;
  platformId: string;
  idempotencyKey: string;
  requestHash: string;
  workflowId: string;
  model: string;
  channelId: string;
  bankId: string;
  consentId: string;
  callbackUrl: string | null;
  intakeHopId: string;
  createdAt: number;
}

function fromRow(r: Record<string, unknown>): ApplicationRow {
  return {
    id: r.id as string,
    platformId: r.platform_id as string,
    idempotencyKey: r.idempotency_key as string,
    requestHash: r.request_hash as string,
    workflowId: r.workflow_id as string,
    model: r.model as string,
    channelId: r.channel_id as string,
    bankId: r.bank_id as string,
    consentId: r.consent_id as string,
    callbackUrl: (r.callback_url as string | null) ?? null,
    intakeHopId: r.intake_hop_id as string,
    createdAt: toMs(r.created_at),
  };
}

/** Inserts unless (platform, idempotency key) exists; returns the row that stands either way. */
export async function insertApplication(db: Conn, a: ApplicationRow): Promise<{ created: boolean; row: ApplicationRow }> {
  const created = await insertIgnore(
    db,
    'applications',
    {
      id: a.id,
      platform_id: a.platformId,
      idempotency_key: a.idempotencyKey,
      request_hash: a.requestHash,
      workflow_id: a.workflowId,
      model: a.model,
      channel_id: a.channelId,
      bank_id: a.bankId,
      consent_id: a.consentId,
      callback_url: a.callbackUrl,
      intake_hop_id: a.intakeHopId,
      created_at: a.createdAt,
    },
  );
  const row = await findByIdempotencyKey(db, a.platformId, a.idempotencyKey);
  if (!row) {
    throw new DzlError('REQUEST_MALFORMED', `application id ${a.id} is already used by another request; seal each application under a new id`, { applicationId: a.id });
  }
  return { created, row };
}

export async function findByIdempotencyKey(db: Conn, platformId: string, key: string): Promise<ApplicationRow | undefined> {
  const r = await db('applications').where({ platform_id: platformId, idempotency_key: key }).first();
  return r ? fromRow(r) : undefined;
}

export async function getApplication(db: Conn, id: string): Promise<ApplicationRow | undefined> {
  const r = await db('applications').where({ id }).first();
  return r ? fromRow(r) : undefined;
}

export interface StateChange {
  state: string;
  reasonCode?: string;
  hopId?: string;
  at: number;
}

/** Each state is entered once per application: a retried activity appends nothing. */
export async function appendState(db: Conn, applicationId: string, s: Omit<StateChange, 'at'>): Promise<void> {
  await insertIgnore(
    db,
    'application_states',
    { application_id: applicationId, state: s.state, reason_code: s.reasonCode ?? null, hop_id: s.hopId ?? null, at: Date.now() },
    ['application_id', 'state'],
  );
}

export async function statesOf(db: Conn, applicationId: string): Promise<StateChange[]> {
  const rows = await db('application_states').where({ application_id: applicationId }).orderBy('seq');
  return rows.map((r) => ({
    state: r.state as string,
    ...(r.reason_code ? { reasonCode: r.reason_code as string } : {}),
    ...(r.hop_id ? { hopId: r.hop_id as string } : {}),
    at: toMs(r.at),
  }));
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

/** A consent's terms and its current state (withdrawals from its append-only history). */
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

export interface StoredHop {
  hopId: string;
  applicationId: string;
  kind: string;
  from: string;
  to: string;
  sealed: SealedHop;
  /** Set once retention erased the payload: `sealed` then holds the signed header only. */
  erasedAt?: number;
}

export async function saveSealedHop(db: Conn, h: StoredHop): Promise<boolean> {
  return insertIgnore(
    db,
    'sealed_hops',
    { hop_id: h.hopId, application_id: h.applicationId, kind: h.kind, from_party: h.from, to_party: h.to, envelope: JSON.stringify(h.sealed), created_at: Date.now() },
    'hop_id',
  );
}

export async function getSealedHop(db: Conn, hopId: string): Promise<StoredHop | undefined> {
  const r = await db('sealed_hops').where({ hop_id: hopId }).first();
  if (!r) return undefined;
  return {
    hopId: r.hop_id,
    applicationId: r.application_id,
    kind: r.kind,
    from: r.from_party,
    to: r.to_party,
    sealed: JSON.parse(r.envelope) as SealedHop,
    ...(r.payload_erased_at ? { erasedAt: toMs(r.payload_erased_at) } : {}),
  };
}

/**
 * Erases the sealed payloads (wrapped key, iv, ciphertext) of an application's hops, keeping
 * each signed header: what the evidence needs. Returns the ids of every erased hop.
 */
export async function erasePayloads(db: Conn, applicationId: string): Promise<string[]> {
  const rows = await db('sealed_hops').where({ application_id: applicationId }).orderBy('created_at').select('hop_id', 'envelope', 'payload_erased_at');
  const now = Date.now();
  for (const r of rows) {
    if (r.payload_erased_at) continue;
    const { header, signature } = JSON.parse(r.envelope) as SealedHop;
    await db('sealed_hops').where({ hop_id: r.hop_id }).update({ envelope: JSON.stringify({ header, signature }), payload_erased_at: now });
  }
  return rows.map((r) => r.hop_id as string);
}

/** The parties that hops of the application (of these kinds) were addressed to. */
export async function recipientsOf(db: Conn, applicationId: string, kinds?: string[]): Promise<string[]> {
  const q = db('sealed_hops').where({ application_id: applicationId });
  if (kinds) q.whereIn('kind', kinds);
  const rows = await q.distinct('to_party').orderBy('to_party');
  return rows.map((r) => r.to_party as string);
}
