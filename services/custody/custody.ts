/**
 * How the router takes custody of a hop, whoever hands it over (a platform at intake, a channel
 * or a bank answering a delivery): verify, check it against what the flow expects and against
 * the routing rules, refuse replays, then store it sealed and append it to the ledger in one
 * transaction. The router never opens a hop: it holds no key that could.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DzlError } from '../common/errors';
import { checkConsentCovers, withdrawnFor, type Consent } from '../consent/consent';
import type { HopKind } from '../domain/hops';
import { recordHop } from '../ledger/ledger';
import type { NetworkDirectory } from '../registry/directory';
import { checkRoute, ROUTES } from '../routing/rules';
import { certificateValidAt, decodeHop, signerInForce, verifyHop, type DecodedHop } from '../seal/hop';
import type { NonceStore } from '../seal/replay';
import type { ApplicationRow } from '../store/applications';
import { consentIdsFiledFor, getConsent, lockConsents } from '../store/consents';
import { transact, type Conn, type Db } from '../store/db';
import { registryVersionShared } from '../store/parties';
import { answerTo, getSealedHop, saveSealedHop } from '../store/sealedHops';

export interface CustodyDeps {
  db: Db;
  directory: () => NetworkDirectory;
  /**
   * Rereads the directory from the store. Given, a hop checked against a directory older than the
   * store's registry is checked again against the new one before it is taken (several routers:
   * a revocation through one binds all at once); absent, such a hop is refused as not yet.
   */
  refreshDirectory?: () => Promise<NetworkDirectory>;
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
  /** The hop in custody: this one, or the answer already taken to the same parent. */
  hop: DecodedHop;
  /** False when the hop was already in custody (a redelivered answer). */
  fresh: boolean;
  /** True when another answer to the same parent hop was taken first, and `hop` is that one. */
  duplicate?: boolean;
}

function checkExpected(hop: DecodedHop, e: Expected): void {
  const h = hop.header;
  const wrong = (what: string, got: string | undefined, want: string) =>
    new DzlError('ROUTE_NOT_ALLOWED', `the answer's header.${what} is ${got === undefined ? 'absent' : 'another'}, expected ${want}`);
  if (h.kind !== e.kind) throw wrong('kind', h.kind, e.kind);
  if (e.from && h.from !== e.from) throw wrong('from', h.from, e.from);
  if (e.to && h.to !== e.to) throw wrong('to', h.to, e.to);
  if (e.applicationId && h.applicationId !== e.applicationId) throw wrong('applicationId', h.applicationId, e.applicationId);
  if (e.parentHopId && h.parentHopId !== e.parentHopId) throw wrong('parentHopId', h.parentHopId, e.parentHopId);
}

/** A concurrent request took the same hop (or its nonce) into custody first. */
class TakenMeanwhile extends Error {}

/** The registry changed since the directory the hop was checked against was read. */
class RegistryChanged extends Error {}

/** Checks against a directory reread this many times before the hop is answered "not yet". */
const REGISTRY_RETRIES = 3;

/**
 * Verifies a hop and takes it into custody: the sealed hop, its ledger leaf, its nonce and
 * whatever the caller writes with it (`within`: an application's rows at intake) commit in one
 * transaction or not at all — a crash never leaves a hop half taken, so the sender's retry of the
 * same bytes is answered, never refused as a replay. One answer per parent hop: a second,
 * different answer to the same hop (kind, parent, recipient) is not taken; the standing one is
 * returned with `duplicate` set. `verified`: the same hop already verified by the caller.
 */
export async function admitHop(
  deps: CustodyDeps,
  input: unknown,
  consent: Consent,
  expected: Expected,
  verified?: DecodedHop,
  within?: (trx: Conn, hop: DecodedHop) => Promise<void>,
): Promise<Admitted> {
  for (let attempt = 0; ; attempt++) {
    try {
      // after a registry change, check the hop again from its bytes against the directory reread
      return await admitOnce(deps, attempt === 0 ? deps.directory() : await deps.refreshDirectory!(), input, consent, expected, attempt === 0 ? verified : undefined, within);
    } catch (err) {
      if (!(err instanceof RegistryChanged)) throw err;
      if (!deps.refreshDirectory || attempt + 1 >= REGISTRY_RETRIES) {
        throw new DzlError('PARTY_UNAVAILABLE', 'the network registry is changing; send the same hop again shortly');
      }
    }
  }
}

async function admitOnce(
  deps: CustodyDeps,
  directory: NetworkDirectory,
  input: unknown,
  consent: Consent,
  expected: Expected,
  verified: DecodedHop | undefined,
  within: ((trx: Conn, hop: DecodedHop) => Promise<void>) | undefined,
): Promise<Admitted> {
  const hop = verified ?? verifyHop(input, { signerOf: directory.signerOf, ...(deps.maxAgeMs ? { maxAgeMs: deps.maxAgeMs } : {}) });
  // a hop the caller verified earlier may have been checked against an older directory than this
  // one, whose version the transaction below holds: its sender's certificate is checked again here
  if (verified) signerInForce(hop.header, directory.signerOf);
  checkExpected(hop, expected);
  checkRoute(hop.header, { directory, consent, at: new Date() });
  // sealed for the recipient's own encryption key, or no one it is addressed to can open it
  const enc = directory.certificate(hop.header.recipientKeyId);
  const issuedAt = new Date(hop.header.issuedAt);
  if (!enc || enc.usage !== 'enc' || enc.partyId !== hop.header.to || !certificateValidAt(enc, issuedAt)) {
    throw new DzlError('HOP_NOT_FOR_RECIPIENT', 'the hop is sealed for a key that is not a valid encryption certificate of its recipient', { hopId: hop.header.hopId });
  }
  const standing = await standingAnswer(deps.db, hop);
  if (standing) return standing;
  try {
    await transact(deps.db, async (trx) => {
      // the registry as it stands, held until commit: a revocation, a licence withdrawn or a bank
      // removed through any router either commits after this hop or is seen here (envelope.md §23)
      if (directory.version !== undefined && (await registryVersionShared(trx)) !== directory.version) throw new RegistryChanged();
      // a withdrawal recorded since the check above wins: serialised on the consent's row, so no
      // hop enters the log after a withdrawal that covers its recipient
      if (ROUTES[hop.header.kind].consented) {
        const current = await lockConsentOfApplication(trx, { id: hop.header.applicationId, consentId: consent.id });
        if (current) requireRecipient(current, hop.header.to);
      }
      if (!(await deps.nonces.remember(hop.header.from, hop.header.nonce, issuedAt, trx))) throw new TakenMeanwhile();
      const saved = await saveSealedHop(trx, {
        hopId: hop.header.hopId,
        applicationId: hop.header.applicationId,
        kind: hop.header.kind,
        from: hop.header.from,
        to: hop.header.to,
        ...(hop.header.parentHopId ? { parentHopId: hop.header.parentHopId } : {}),
        sealed: { header: hop.sealed.header, signature: hop.sealed.signature, wrappedKey: hop.sealed.wrappedKey, iv: hop.sealed.iv, ciphertext: hop.sealed.ciphertext },
      });
      if (!saved) throw new TakenMeanwhile();
      await recordHop(trx, hop);
      if (within) await within(trx, hop);
    });
  } catch (err) {
    if (!(err instanceof TakenMeanwhile)) throw err;
    // the same hop, taken a moment ago by a twin of this request: the same answer; anything else is a replay
    const now = await standingAnswer(deps.db, hop);
    if (now) return now;
    throw new DzlError('HOP_REPLAYED', 'the hop id or its nonce was already used by this sender; seal a new hop', { hopId: hop.header.hopId });
  }
  return { hop, fresh: true };
}

/** The hop already in custody under this id (if the same), or the one answer already taken to its parent. */
async function standingAnswer(db: Conn, hop: DecodedHop): Promise<Admitted | undefined> {
  const known = await getSealedHop(db, hop.header.hopId);
  if (known) {
    if (known.sealed.header === hop.sealed.header) return { hop, fresh: false };
    throw new DzlError('HOP_REPLAYED', 'the hop id is already in custody with another header; seal a new hop', { hopId: hop.header.hopId });
  }
  const { parentHopId } = hop.header;
  if (!parentHopId) return undefined;
  const answer = await answerTo(db, hop.header.kind, parentHopId, hop.header.to);
  if (!answer) return undefined;
  return { hop: decodeHop(answer.sealed), fresh: false, duplicate: true };
}

// ---------------------------------------------------------------- the consent guard
//
// The one place the router asks "may this hop go to this party now, under this application's
// consent": at intake, when it takes a hop into custody, before each delivery, before it asks the
// channel for a cascade report, and when a bank answers. Every check reads the consent as it now
// stands — the platform's, and in the redirect model the bank's own, whose withdrawal counts too.

type AppRef = Pick<ApplicationRow, 'id' | 'consentId'>;

/**
 * The consent an application's hops are checked against, with every withdrawal that stops it:
 * the platform's own, and in the redirect model the one the customer gave the bank on its page
 * (withdrawn there, it withdraws for the recipients it named).
 */
export async function consentOfApplication(db: Conn, app: AppRef): Promise<Consent | undefined> {
  const consent = await getConsent(db, app.consentId);
  if (!consent) return undefined;
  // only a bank's own consent is filed with an application (platforms may not file one)
  for (const id of await consentIdsFiledFor(db, app.id, consent.platformId)) {
    const own = await getConsent(db, id);
    for (const [who, at] of Object.entries(own?.withdrawn ?? {})) {
      for (const party of who === '*' ? own!.recipients : [who]) (consent.withdrawn ??= {})[party] ??= at;
    }
  }
  return consent;
}

/** The application's consent; its absence is a fault of the store, not of the caller. */
export async function requireConsentOf(db: Conn, app: AppRef): Promise<Consent> {
  const c = await consentOfApplication(db, app);
  if (!c) throw ApplicationFailure.nonRetryable(`consent ${app.consentId} of ${app.id} is not in the store`, 'CONSENT_MISSING');
  return c;
}

/** consentOfApplication, holding its rows until the transaction ends: custody serialises with a withdrawal. */
export async function lockConsentOfApplication(trx: Conn, app: AppRef): Promise<Consent | undefined> {
  await lockConsents(trx, app.consentId, app.id);
  return consentOfApplication(trx, app);
}

/** The recipient may receive the application's data now: named, not withdrawn, not expired. */
export function requireRecipient(consent: Consent, recipient: string, at: Date = new Date()): void {
  checkConsentCovers(consent, recipient, at);
}

/** A party's answer is not taken once the customer withdrew for it or for the channel. */
export function requireNotWithdrawn(consent: Consent, applicationId: string, parties: string[]): void {
  for (const p of parties) {
    const at = withdrawnFor(consent, p);
    if (at) {
      throw new DzlError('CONSENT_WITHDRAWN', `the customer withdrew consent ${consent.id} at ${at}; ${applicationId} is stopped, and its data must be deleted as the router's notice says`, {
        consent: consent.id,
        applicationId,
      });
    }
  }
}
