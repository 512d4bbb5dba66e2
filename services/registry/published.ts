/**
 * The published directory (envelope.md §21.3): the registry as a signed, versioned document any
 * party fetches from the router, verifies against the network's trust roots, caches and refreshes
 * — so a party that never saw the router's database verifies senders, picks recipients'
 * encryption keys and learns of revocations. The party keeps the last verified copy (`dzl party
 * directory --out`) and verifies each refresh against it.
 *
 *   document = { "directory": b64u(JCS(body)), "signature": b64u(sig by the router's sig key) }
 *   body     = { v: 1, version, issuedAt, signedBy: <router sig key id>, parties: PartyRecord[] }
 *
 * `version` is the sequence number of the latest `party` evidence leaf: every registry change is
 * one, so a newer directory has a larger version and the log says what each version held. A
 * party refuses a directory older than the one it holds (a replayed one would hide a revocation).
 */
import { DzlError, isErrorCode } from '../common/errors';
import { b64url, fromB64url } from '../seal/bytes';
import { canonicalJson, parseCanonical } from '../seal/canonical';
import { certificateValidAt, signBytes, verifyCertified, type SigningIdentity } from '../seal/hop';
import { signRequest } from '../seal/requestSignature';
import { NetworkDirectory, type PartyRecord } from './directory';

export interface PublishedDirectory {
  directory: string;
  signature: string;
}

export interface DirectoryBody {
  v: 1;
  version: number;
  issuedAt: string;
  signedBy: string;
  parties: PartyRecord[];
}

/** What a party learns of the others: no platform's callback URL (the router's alone to call). */
function published(r: PartyRecord): PartyRecord {
  const { callbackUrl: _private, ...rest } = r;
  return rest;
}

export function publishDirectory(signer: SigningIdentity, records: readonly PartyRecord[], version: number, now: Date = new Date()): PublishedDirectory {
  const body: DirectoryBody = { v: 1, version, issuedAt: now.toISOString(), signedBy: signer.keyId, parties: [...records].sort((a, b) => (a.id < b.id ? -1 : 1)).map(published) };
  const bytes = canonicalJson(body);
  return { directory: b64url(bytes), signature: b64url(signBytes(signer, bytes)) };
}

const invalid = (why: string) => new DzlError('DIRECTORY_INVALID', `the published directory ${why}`);

export interface VerifiedDirectory {
  body: DirectoryBody;
  directory: NetworkDirectory;
}

/**
 * Verifies a published directory against the network's trust roots (`caPem`): every certificate
 * issued by the network CA, the signature by a `sig` certificate of the router it lists, in
 * force and not revoked at `issuedAt`; and, against `held` (the copy a party keeps), neither older
 * nor of the same version with other contents.
 */
const MAX_SKEW_MS = 5 * 60_000;

export function verifyPublishedDirectory(doc: unknown, caPem: string, held?: Pick<DirectoryBody, 'version' | 'issuedAt' | 'parties'>, now: Date = new Date()): VerifiedDirectory {
  const raw = (doc ?? {}) as Record<string, unknown>;
  const bytes = fromB64url(raw.directory);
  const sig = fromB64url(raw.signature);
  const body = bytes ? (parseCanonical(bytes) as DirectoryBody | undefined) : undefined;
  if (!bytes || !sig || !body || typeof body !== 'object') throw invalid('is not a canonical signed document');
  if (body.v !== 1 || !Number.isSafeInteger(body.version) || body.version < 0 || typeof body.issuedAt !== 'string' || typeof body.signedBy !== 'string' || !Array.isArray(body.parties)) {
    throw invalid('is not of version 1');
  }
  let directory: NetworkDirectory;
  try {
    directory = new NetworkDirectory(caPem, body.parties);
  } catch {
    throw invalid('lists a certificate the network CA did not issue to that party');
  }
  const signer = directory.certificate(body.signedBy);
  const at = new Date(body.issuedAt);
  if (!signer || signer.role !== 'router' || signer.usage !== 'sig' || Number.isNaN(at.getTime()) || !certificateValidAt(signer, at)) {
    throw invalid("is not signed by a router's signing certificate in force");
  }
  if (!verifyCertified(signer, bytes, sig)) throw invalid('signature does not verify');
  // a clock far ahead would make every later directory look older: not taken
  if (at.getTime() > now.getTime() + MAX_SKEW_MS) throw invalid('is issued in the future');
  if (held) {
    // ordered by version alone: routers behind one address need not agree to the millisecond
    if (body.version < held.version || at.getTime() < Date.parse(held.issuedAt) - MAX_SKEW_MS) throw invalid('is older than the one already held');
    // one version, one registry: the same version with other parties is not the router's
    if (body.version === held.version && !canonicalJson(body.parties).equals(canonicalJson(held.parties))) throw invalid('says other things than the one already held under the same version');
    // a revocation is for good: a signer the held copy lists as revoked signs nothing newer, and no
    // newer directory drops a revocation or moves it later (which would un-revoke what a stolen key signed)
    for (const p of held.parties) {
      for (const [keyId, revokedAt] of Object.entries(p.revoked ?? {})) {
        if (keyId === body.signedBy) throw invalid('is signed by a router key the held directory lists as revoked');
        const listed = body.parties.find((q) => q.id === p.id)?.revoked?.[keyId];
        if (listed === undefined || Date.parse(listed) > Date.parse(revokedAt)) throw invalid('drops or postpones a revocation the held directory lists');
      }
    }
  }
  return { body, directory };
}

/** GET /v1/directory, signed with the party's own key (§17): the document, not yet verified. */
export async function fetchDirectory(routerUrl: string, signing: SigningIdentity): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${routerUrl}/v1/directory`, { headers: { authorization: signRequest(signing, 'GET', '/v1/directory', Buffer.alloc(0)) }, signal: AbortSignal.timeout(10_000), redirect: 'error' });
  } catch {
    throw new DzlError('PARTY_UNAVAILABLE', 'the router did not answer the directory request');
  }
  if (!res.ok) {
    const code = ((await res.json().catch(() => undefined)) as { error?: { code?: unknown } } | undefined)?.error?.code;
    // the router's own refusal (a revoked or unregistered caller) is the party's to see by its code
    throw new DzlError(isErrorCode(code) ? code : 'PARTY_UNAVAILABLE', `the router answered the directory request with HTTP ${res.status}`);
  }
  try {
    return (await res.json()) as unknown;
  } catch {
    throw new DzlError('DIRECTORY_INVALID', 'the directory answer is not JSON');
  }
}
