import { recordParty } from '../ledger/ledger';
import type { NetworkFile } from '../network/folder';
import { parseCertificate } from '../pki/certificate';
import { NetworkDirectory, type ChannelLicence, type PartyRecord } from '../registry/directory';
import { toMs, type Db } from './db';

/** Registers (or refreshes) every party and certificate of a network file. */
export async function registerNetwork(db: Db, file: NetworkFile, endpoints: Record<string, { grpc?: string; callback?: string }> = {}): Promise<void> {
  const now = Date.now();
  await db.transaction(async (trx) => {
    for (const p of file.parties) {
      const ep = endpoints[p.id] ?? {};
      const row = {
        id: p.id,
        role: p.role,
        legal_name: p.legalName,
        grpc_endpoint: ep.grpc ?? p.grpcEndpoint ?? null,
        callback_url: ep.callback ?? p.callbackUrl ?? null,
        licence_json: p.licence ? JSON.stringify(p.licence) : null,
        contracted_channel: p.contractedChannel ?? null,
        decision_timeout_ms: p.decisionTimeoutMs ?? null,
        updated_at: now,
      };
      await trx('parties').insert(row).onConflict('id').merge();
      for (const pem of p.certificates) {
        const c = parseCertificate(pem, file.caPem);
        await trx('party_certificates')
          .insert({ key_id: c.keyId, party_id: p.id, usage: c.usage, pem, not_before: c.notBefore.getTime(), not_after: c.notAfter.getTime() })
          .onConflict('key_id')
          .ignore();
      }
    }
  });
  for (const p of file.parties) await snapshotParty(db, p.id);
}

/** The party as evidence knows it: role, licence and certificates — not its endpoints. */
export async function snapshotParty(db: Db, partyId: string): Promise<void> {
  const p = await db('parties').where({ id: partyId }).first();
  if (!p) return;
  const certs = await db('party_certificates').where({ party_id: partyId }).orderBy('key_id');
  const revoked = Object.fromEntries(certs.filter((c) => c.revoked_at != null).map((c) => [c.key_id as string, new Date(toMs(c.revoked_at)).toISOString()]));
  await recordParty(db, {
    id: p.id,
    role: p.role,
    legalName: p.legal_name,
    ...(p.licence_json ? { licence: JSON.parse(p.licence_json) as ChannelLicence } : {}),
    certificates: certs.map((c) => c.key_id as string),
    ...(Object.keys(revoked).length ? { revoked } : {}),
  });
}

export async function setBankTerms(db: Db, bankId: string, terms: { contractedChannel?: string; decisionTimeoutMs?: number }): Promise<void> {
  await db('parties')
    .where({ id: bankId })
    .update({
      ...(terms.contractedChannel ? { contracted_channel: terms.contractedChannel } : {}),
      ...(terms.decisionTimeoutMs !== undefined ? { decision_timeout_ms: terms.decisionTimeoutMs } : {}),
      updated_at: Date.now(),
    });
}

export async function setPartyEndpoint(db: Db, partyId: string, ep: { grpc?: string; callback?: string; web?: string }): Promise<void> {
  await db('parties')
    .where({ id: partyId })
    .update({ ...(ep.grpc ? { grpc_endpoint: ep.grpc } : {}), ...(ep.callback ? { callback_url: ep.callback } : {}), ...(ep.web ? { web_url: ep.web } : {}), updated_at: Date.now() });
}

export async function setChannelLicence(db: Db, channelId: string, licence: ChannelLicence): Promise<void> {
  await db('parties').where({ id: channelId }).update({ licence_json: JSON.stringify(licence), updated_at: Date.now() });
  await snapshotParty(db, channelId);
}

export async function loadDirectoryFromDb(db: Db, caPem: string): Promise<NetworkDirectory> {
  const parties = await db('parties').select();
  const certs = await db('party_certificates').select();
  const records: PartyRecord[] = parties.map((p) => ({
    id: p.id,
    role: p.role,
    legalName: p.legal_name,
    ...(p.grpc_endpoint ? { grpcEndpoint: p.grpc_endpoint } : {}),
    ...(p.callback_url ? { callbackUrl: p.callback_url } : {}),
    ...(p.licence_json ? { licence: JSON.parse(p.licence_json) as ChannelLicence } : {}),
    ...(p.contracted_channel ? { contractedChannel: p.contracted_channel as string } : {}),
    ...(p.web_url ? { webUrl: p.web_url as string } : {}),
    ...(p.decision_timeout_ms != null ? { decisionTimeoutMs: Number(p.decision_timeout_ms) } : {}),
    certificates: certs.filter((c) => c.party_id === p.id).map((c) => c.pem as string),
    revoked: Object.fromEntries(
      certs.filter((c) => c.party_id === p.id && c.revoked_at != null).map((c) => [c.key_id as string, new Date(toMs(c.revoked_at)).toISOString()]),
    ),
  }));
  return new NetworkDirectory(caPem, records);
}

/** Revokes a certificate from `at`: what it signed before stays verifiable, nothing after. */
export async function revokeCertificate(db: Db, keyId: string, at: Date = new Date()): Promise<void> {
  await db('party_certificates').where({ key_id: keyId }).whereNull('revoked_at').update({ revoked_at: at.getTime() });
  const c = await db('party_certificates').where({ key_id: keyId }).first();
  if (c) await snapshotParty(db, c.party_id);
}
