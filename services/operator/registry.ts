/**
 * The network operator's changes to the registry. Each one writes the registry and, in the same
 * transaction, a `party` evidence leaf with the party's new snapshot (role, legal name, licence,
 * certificates, revocations), so the log says which certificates and licence stood when.
 */
import { DzlError } from '../common/errors';
import { recordParty } from '../ledger/ledger';
import type { NetworkFile } from '../network/folder';
import type { ChannelLicence, PartyRecord } from '../registry/directory';
import type { Conn, Db } from '../store/db';
import { addCertificate, certificateOwner, partySnapshot, revokeCertificateRow, setBankTermsRow, setChannelLicenceRow, setPartyEndpointRow, upsertParty } from '../store/parties';

async function snapshot(trx: Conn, partyId: string): Promise<void> {
  const s = await partySnapshot(trx, partyId);
  if (s) await recordParty(trx, s);
}

/** Registers (or refreshes) every party and certificate of a network file. */
export async function registerNetwork(db: Db, file: NetworkFile, endpoints: Record<string, { grpc?: string; callback?: string }> = {}): Promise<void> {
  await db.transaction(async (trx) => {
    for (const p of file.parties) {
      const ep = endpoints[p.id] ?? {};
      const grpcEndpoint = ep.grpc ?? p.grpcEndpoint;
      const callbackUrl = ep.callback ?? p.callbackUrl;
      await upsertParty(trx, {
        id: p.id,
        role: p.role,
        legalName: p.legalName,
        ...(grpcEndpoint ? { grpcEndpoint } : {}),
        ...(callbackUrl ? { callbackUrl } : {}),
        ...(p.licence ? { licence: p.licence } : {}),
        ...(p.contractedChannel ? { contractedChannel: p.contractedChannel } : {}),
        ...(p.decisionTimeoutMs !== undefined ? { decisionTimeoutMs: p.decisionTimeoutMs } : {}),
      });
      for (const pem of p.certificates) await addCertificate(trx, p.id, pem, file.caPem);
    }
    for (const p of file.parties) await snapshot(trx, p.id);
  });
}

/**
 * Registers a party admitted through onboarding (services/network/onboarding.ts): its role, legal
 * name, terms and endpoints, and the certificates the operator issued from its own requests; one
 * transaction, one `party` evidence leaf. Renewal is the same call with the new certificates.
 */
export async function admitParty(db: Db, party: Omit<PartyRecord, 'certificates' | 'revoked'>, certificates: readonly string[], caPem: string, opts: { renew?: boolean } = {}): Promise<void> {
  await db.transaction(async (trx) => {
    // an id already registered is another organisation's until the operator says this is its renewal
    const existing = await partySnapshot(trx, party.id);
    if (existing && !opts.renew) throw new DzlError('PARTY_ALREADY_REGISTERED', `${party.id} is already registered: admit a renewal with --renew, after checking it is the same organisation`, { party: party.id });
    if (existing && existing.role !== party.role) throw new DzlError('PARTY_ROLE_MISMATCH', `${party.id} is registered as a ${existing.role}; a renewal keeps its role`, { party: party.id });
    await upsertParty(trx, {
      id: party.id,
      role: party.role,
      legalName: party.legalName,
      ...(party.grpcEndpoint ? { grpcEndpoint: party.grpcEndpoint } : {}),
      ...(party.callbackUrl ? { callbackUrl: party.callbackUrl } : {}),
      ...(party.webUrl ? { webUrl: party.webUrl } : {}),
      ...(party.licence ? { licence: party.licence } : {}),
      ...(party.contractedChannel ? { contractedChannel: party.contractedChannel } : {}),
      ...(party.decisionTimeoutMs !== undefined ? { decisionTimeoutMs: party.decisionTimeoutMs } : {}),
    });
    if (party.callbackOrigins) await setPartyEndpointRow(trx, party.id, { callbackOrigins: party.callbackOrigins });
    for (const pem of certificates) await addCertificate(trx, party.id, pem, caPem);
    await snapshot(trx, party.id);
  });
}

/**
 * A party's endpoints: its gRPC service, a bank's application page, a platform's callback URL or
 * origins. A change of what the directory publishes is a `party` leaf (a new directory version).
 */
export async function setPartyEndpoint(db: Conn, partyId: string, ep: { grpc?: string; callback?: string; web?: string; callbackOrigins?: string[] }): Promise<void> {
  await db.transaction(async (trx) => {
    await setPartyEndpointRow(trx, partyId, ep);
    await snapshot(trx, partyId);
  });
}

/** Endpoints and a bank's terms together: one transaction, one `party` leaf. */
export async function updateParty(
  db: Db,
  partyId: string,
  change: { endpoint?: { grpc?: string; web?: string; callbackOrigins?: string[] }; terms?: { contractedChannel?: string; decisionTimeoutMs?: number } },
): Promise<void> {
  await db.transaction(async (trx) => {
    if (change.endpoint) await setPartyEndpointRow(trx, partyId, change.endpoint);
    if (change.terms) await setBankTermsRow(trx, partyId, change.terms);
    await snapshot(trx, partyId);
  });
}

/** What each role's registration may carry: a member of another role's is refused (PARTY_ROLE_MISMATCH). */
export function checkTermsForRole(partyId: string, role: string, terms: { grpcEndpoint?: unknown; webUrl?: unknown; callbackOrigins?: unknown; contractedChannel?: unknown; decisionTimeoutMs?: unknown; licence?: unknown }): void {
  const owners: [keyof typeof terms, readonly string[]][] = [
    ['grpcEndpoint', ['channel', 'bank']],
    ['webUrl', ['bank']],
    ['contractedChannel', ['bank']],
    ['decisionTimeoutMs', ['bank']],
    ['callbackOrigins', ['platform']],
    ['licence', ['channel']],
  ];
  for (const [member, roles] of owners) {
    if (terms[member] !== undefined && !roles.includes(role)) throw new DzlError('PARTY_ROLE_MISMATCH', `${partyId} is a ${role}; ${member} is a ${roles.join(' or ')}'s`, { party: partyId });
  }
}

/** A bank's terms: its contracted channel and decision timeout; a change is a `party` leaf. */
export async function setBankTerms(db: Conn, bankId: string, terms: { contractedChannel?: string; decisionTimeoutMs?: number }): Promise<void> {
  await db.transaction(async (trx) => {
    await setBankTermsRow(trx, bankId, terms);
    await snapshot(trx, bankId);
  });
}

export async function setChannelLicence(db: Db, channelId: string, licence: ChannelLicence): Promise<void> {
  await db.transaction(async (trx) => {
    await setChannelLicenceRow(trx, channelId, licence);
    await snapshot(trx, channelId);
  });
}

/** Revokes a certificate from `at`: what it signed before stays verifiable, nothing after. False when unknown. */
export async function revokeCertificate(db: Db, keyId: string, at: Date = new Date()): Promise<boolean> {
  return db.transaction(async (trx) => {
    const owner = await certificateOwner(trx, keyId);
    if (!owner) return false;
    if (!(await revokeCertificateRow(trx, keyId, at.getTime()))) return false;
    await snapshot(trx, owner);
    return true;
  });
}
