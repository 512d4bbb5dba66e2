/**
 * `parties` and `party_certificates`: the registry as the router stores it. Writing evidence of a
 * change is the operator facade's job (services/operator), in the same transaction.
 */
import type { PartyRole } from '../domain/parties';
import { parseCertificate } from '../pki/certificate';
import { NetworkDirectory, type ChannelLicence, type PartyRecord } from '../registry/directory';
import { isMysql, toMs, type Conn, type Db } from './db';

export interface PartyRow {
  id: string;
  role: PartyRole;
  legalName: string;
  grpcEndpoint?: string;
  callbackUrl?: string;
  webUrl?: string;
  licence?: ChannelLicence;
  contractedChannel?: string;
  decisionTimeoutMs?: number;
}

/** The party as the evidence knows it: everything the directory publishes of it, certificates by key id. */
export interface PartySnapshot {
  id: string;
  role: PartyRole;
  legalName: string;
  licence?: ChannelLicence;
  certificates: string[];
  revoked?: Record<string, string>;
  grpcEndpoint?: string;
  webUrl?: string;
  callbackOrigins?: string[];
  contractedChannel?: string;
  decisionTimeoutMs?: number;
}

/** Inserts the party or replaces what it says of itself; endpoints and terms given here win. */
export async function upsertParty(db: Conn, p: PartyRow): Promise<void> {
  await db('parties')
    .insert({
      id: p.id,
      role: p.role,
      legal_name: p.legalName,
      // endpoints are set when given and never cleared here: re-registering a network (dzl network
      // register, at every cluster start) must not take the running parties' and routers' away
      ...(p.grpcEndpoint ? { grpc_endpoint: p.grpcEndpoint } : {}),
      ...(p.callbackUrl ? { callback_url: p.callbackUrl } : {}),
      ...(p.webUrl ? { web_url: p.webUrl } : {}),
      licence_json: p.licence ? JSON.stringify(p.licence) : null,
      contracted_channel: p.contractedChannel ?? null,
      decision_timeout_ms: p.decisionTimeoutMs ?? null,
      updated_at: Date.now(),
    })
    .onConflict('id')
    .merge();
}

/** Adds a certificate (checked against the CA) unless its key id is registered already. */
export async function addCertificate(db: Conn, partyId: string, pem: string, caPem: string): Promise<string> {
  const c = parseCertificate(pem, caPem);
  await db('party_certificates')
    .insert({ key_id: c.keyId, party_id: partyId, usage: c.usage, pem, not_before: c.notBefore.getTime(), not_after: c.notAfter.getTime() })
    .onConflict('key_id')
    .ignore();
  return c.keyId;
}

/** The PEMs of these key ids, in key id order (an evidence bundle's certificates). */
export async function certificatePems(db: Conn, keyIds: readonly string[]): Promise<string[]> {
  return (await db('party_certificates').whereIn('key_id', [...keyIds]).orderBy('key_id').select('pem')).map((c) => c.pem as string);
}

/** Every certificate the registry ever held, in key id order (the direct-connection audit). */
export async function allCertificatePems(db: Conn): Promise<string[]> {
  return (await db('party_certificates').orderBy('key_id').select('pem')).map((c) => c.pem as string);
}

export async function certificateOwner(db: Conn, keyId: string): Promise<string | undefined> {
  const c = await db('party_certificates').where({ key_id: keyId }).first('party_id');
  return (c?.party_id as string | undefined) ?? undefined;
}

/** Revokes from `at`: what the key signed before stays verifiable. False when no such live certificate. */
export async function revokeCertificateRow(db: Conn, keyId: string, at: number): Promise<boolean> {
  return (await db('party_certificates').where({ key_id: keyId }).whereNull('revoked_at').update({ revoked_at: at })) > 0;
}

export async function partySnapshot(db: Conn, partyId: string): Promise<PartySnapshot | undefined> {
  const p = await db('parties').where({ id: partyId }).first();
  if (!p) return undefined;
  const certs = await db('party_certificates').where({ party_id: partyId }).orderBy('key_id');
  const revoked = Object.fromEntries(certs.filter((c) => c.revoked_at != null).map((c) => [c.key_id as string, new Date(toMs(c.revoked_at)).toISOString()]));
  return {
    id: p.id,
    role: p.role,
    legalName: p.legal_name,
    ...(p.licence_json ? { licence: JSON.parse(p.licence_json) as ChannelLicence } : {}),
    certificates: certs.map((c) => c.key_id as string),
    ...(Object.keys(revoked).length ? { revoked } : {}),
    ...(p.grpc_endpoint ? { grpcEndpoint: p.grpc_endpoint as string } : {}),
    ...(p.web_url ? { webUrl: p.web_url as string } : {}),
    ...(p.callback_origins_json ? { callbackOrigins: JSON.parse(p.callback_origins_json) as string[] } : {}),
    ...(p.contracted_channel ? { contractedChannel: p.contracted_channel as string } : {}),
    ...(p.decision_timeout_ms != null ? { decisionTimeoutMs: Number(p.decision_timeout_ms) } : {}),
  };
}

export async function setBankTermsRow(db: Conn, bankId: string, terms: { contractedChannel?: string; decisionTimeoutMs?: number }): Promise<void> {
  await db('parties')
    .where({ id: bankId })
    .update({
      ...(terms.contractedChannel ? { contracted_channel: terms.contractedChannel } : {}),
      ...(terms.decisionTimeoutMs !== undefined ? { decision_timeout_ms: terms.decisionTimeoutMs } : {}),
      updated_at: Date.now(),
    });
}

export async function setPartyEndpointRow(db: Conn, partyId: string, ep: { grpc?: string; callback?: string; web?: string; callbackOrigins?: string[] }): Promise<void> {
  await db('parties')
    .where({ id: partyId })
    .update({
      ...(ep.grpc ? { grpc_endpoint: ep.grpc } : {}),
      ...(ep.callback ? { callback_url: ep.callback } : {}),
      ...(ep.web ? { web_url: ep.web } : {}),
      ...(ep.callbackOrigins ? { callback_origins_json: JSON.stringify(ep.callbackOrigins) } : {}),
      updated_at: Date.now(),
    });
}

export async function setChannelLicenceRow(db: Conn, channelId: string, licence: ChannelLicence): Promise<void> {
  await db('parties').where({ id: channelId }).update({ licence_json: JSON.stringify(licence), updated_at: Date.now() });
}

/** The ids of every registered party (vocabulary a refusal may name: services/ledger/redaction.ts). */
export async function partyIds(db: Conn): Promise<string[]> {
  return (await db('parties').select('id')).map((r) => r.id as string);
}

/** Every party with its certificates and revocations, as the directory takes them. */
export async function partyRecords(db: Conn): Promise<PartyRecord[]> {
  const parties = await db('parties').select();
  const certs = await db('party_certificates').select();
  return parties.map((p) => ({
    id: p.id,
    role: p.role,
    legalName: p.legal_name,
    ...(p.grpc_endpoint ? { grpcEndpoint: p.grpc_endpoint } : {}),
    ...(p.callback_url ? { callbackUrl: p.callback_url } : {}),
    ...(p.callback_origins_json ? { callbackOrigins: JSON.parse(p.callback_origins_json) as string[] } : {}),
    ...(p.licence_json ? { licence: JSON.parse(p.licence_json) as ChannelLicence } : {}),
    ...(p.contracted_channel ? { contractedChannel: p.contracted_channel as string } : {}),
    ...(p.web_url ? { webUrl: p.web_url as string } : {}),
    ...(p.decision_timeout_ms != null ? { decisionTimeoutMs: Number(p.decision_timeout_ms) } : {}),
    certificates: certs.filter((c) => c.party_id === p.id).map((c) => c.pem as string),
    revoked: Object.fromEntries(
      certs.filter((c) => c.party_id === p.id && c.revoked_at != null).map((c) => [c.key_id as string, new Date(toMs(c.revoked_at)).toISOString()]),
    ),
  }));
}

/** The registry as a directory, stamped with the change count read first (a change meanwhile only makes it look older). */
export async function loadDirectoryFromDb(db: Conn, caPem: string): Promise<NetworkDirectory> {
  const version = await registryVersionNow(db);
  return new NetworkDirectory(caPem, await partyRecords(db), version);
}

// ---------------------------------------------------------------------------------------------
// registry_state: one row that orders registry changes against custody, across routers (010)

/**
 * Locks the registry for a change until the transaction ends, and counts the change. Taken
 * before anything of the change is read or appended, so every hop taken into custody meanwhile
 * either commits first (and precedes the change in the log) or waits and sees it.
 */
export async function lockRegistryForChange(trx: Conn): Promise<void> {
  await trx('registry_state').where({ id: 1 }).increment('version', 1);
}

/**
 * The registry's change count, held for share until the transaction ends: no change can commit
 * between this read and the end of the caller's transaction (a hop taken into custody).
 */
export async function registryVersionShared(trx: Conn): Promise<number> {
  // SQLite: write first to take its one write lock now (as lockLogState does), not on a stale snapshot
  if (!isMysql(trx as Db)) await trx('registry_state').where({ id: 1 }).update({ version: trx.raw('version') });
  const q = trx('registry_state').where({ id: 1 }).select('version');
  const r = (await (isMysql(trx as Db) ? q.forShare() : q).first()) as { version: number | string } | undefined;
  return r ? Number(r.version) : 0;
}

export async function registryVersionNow(db: Conn): Promise<number> {
  const r = (await db('registry_state').where({ id: 1 }).first('version')) as { version: number | string } | undefined;
  return r ? Number(r.version) : 0;
}
