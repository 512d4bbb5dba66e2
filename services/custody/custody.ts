/**
 * How the router takes custody of a hop, whoever hands it over (a platform at intake, a channel
 * or a bank answering a delivery): verify, check it against what the flow expects and against
 * the routing rules, refuse replays, then store it sealed and append it to the ledger in one
 * transaction. The router never opens a hop: it holds no key that could.
 */
import { DzlError } from '../common/errors';
import type { Consent } from '../consent/consent';
import type { HopKind } from '../domain/hops';
import { recordHop } from '../ledger/ledger';
import type { NetworkDirectory } from '../registry/directory';
import { checkRoute, ROUTES } from '../routing/rules';
import { certificateValidAt, verifyHop, type DecodedHop } from '../seal/hop';
import type { NonceStore } from '../seal/replay';
import type { Db } from '../store/db';
import { getSealedHop, saveSealedHop } from '../store/sealedHops';
import { lockConsentOfApplication, requireRecipient } from './consent';

export interface CustodyDeps {
  db: Db;
  directory: () => NetworkDirectory;
  nonces: NonceStore;
  maxAgeMs?: number;
}

export interface Expected {
  kind: HopKind;
  from?: string;
  to?: string;
  applicationId?: string;
  parentHopId?: string;
}

export interface Admitted {
  hop: DecodedHop;
  /** False when this exact hop was already in custody (a redelivered answer). */
  fresh: boolean;
}

function checkExpected(hop: DecodedHop, e: Expected): void {
  const h = hop.header;
  const wrong = (what: string, got: string | undefined, want: string) =>
    new DzlError('ROUTE_NOT_ALLOWED', `hop ${h.hopId}: ${what} is ${got ?? 'absent'}, expected ${want}`, { hopId: h.hopId });
  if (h.kind !== e.kind) throw wrong('kind', h.kind, e.kind);
  if (e.from && h.from !== e.from) throw wrong('from', h.from, e.from);
  if (e.to && h.to !== e.to) throw wrong('to', h.to, e.to);
  if (e.applicationId && h.applicationId !== e.applicationId) throw wrong('applicationId', h.applicationId, e.applicationId);
  if (e.parentHopId && h.parentHopId !== e.parentHopId) throw wrong('parentHopId', h.parentHopId, e.parentHopId);
}

/** `verified`: the same hop already verified by the caller, so its signature is checked once. */
export async function admitHop(deps: CustodyDeps, input: unknown, consent: Consent, expected: Expected, verified?: DecodedHop): Promise<Admitted> {
  const directory = deps.directory();
  const hop = verified ?? verifyHop(input, { signerOf: directory.signerOf, ...(deps.maxAgeMs ? { maxAgeMs: deps.maxAgeMs } : {}) });
  checkExpected(hop, expected);
  checkRoute(hop.header, { directory, consent, at: new Date() });
  // sealed for the recipient's own encryption key, or no one it is addressed to can open it
  const enc = directory.certificate(hop.header.recipientKeyId);
  const issuedAt = new Date(hop.header.issuedAt);
  if (!enc || enc.usage !== 'enc' || enc.partyId !== hop.header.to || !certificateValidAt(enc, issuedAt)) {
    throw new DzlError('HOP_NOT_FOR_RECIPIENT', `hop ${hop.header.hopId} is sealed for key ${hop.header.recipientKeyId}, not a valid encryption certificate of ${hop.header.to}`, {
      hopId: hop.header.hopId,
    });
  }
  const known = await getSealedHop(deps.db, hop.header.hopId);
  if (known) {
    if (known.sealed.header === hop.sealed.header) return { hop, fresh: false };
    throw new DzlError('HOP_REPLAYED', `hop id ${hop.header.hopId} is already in custody with another header`, { hopId: hop.header.hopId });
  }
  if (!(await deps.nonces.remember(hop.header.from, hop.header.nonce, new Date(hop.header.issuedAt)))) {
    throw new DzlError('HOP_REPLAYED', `nonce of hop ${hop.header.hopId} from ${hop.header.from} was already used; seal a new hop`, { hopId: hop.header.hopId });
  }
  await deps.db.transaction(async (trx) => {
    // a withdrawal recorded since the check above wins: serialised on the consent's row, so no
    // hop enters the log after a withdrawal that covers its recipient
    if (ROUTES[hop.header.kind].consented) {
      const current = await lockConsentOfApplication(trx, { id: hop.header.applicationId, consentId: consent.id });
      if (current) requireRecipient(current, hop.header.to);
    }
    await saveSealedHop(trx, {
      hopId: hop.header.hopId,
      applicationId: hop.header.applicationId,
      kind: hop.header.kind,
      from: hop.header.from,
      to: hop.header.to,
      sealed: { header: hop.sealed.header, signature: hop.sealed.signature, wrappedKey: hop.sealed.wrappedKey, iv: hop.sealed.iv, ciphertext: hop.sealed.ciphertext },
    });
    await recordHop(trx, hop);
  });
  return { hop, fresh: true };
}
