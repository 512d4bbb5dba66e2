/**
 * The direct-redirect token (直连跳转): opaque to the customer and the platform, it names no one.
 * Issued and signed by the router; short-lived; single use (the router records its claim).
 *
 *   token = base64url(JCS({t: token id, a: application id, b: bank, exp: epoch ms, k: router key id}))
 *           "." base64url(signature by the router, in the suite of its signing key: PS256 or SM2-SM3)
 *
 * The bank checks the router's signature before it renders its page, and claims the token at
 * the router, which refuses a second claim.
 */
import { randomBytes } from 'node:crypto';
import { DzlError } from '../common/errors';
import { b64url, fromB64url, sha256 } from './bytes';
import { canonicalJson, parseCanonical } from './canonical';
import { fieldDigest, signBytes, verifyCertified, type SignerCertificate, type SigningIdentity } from './hop';

export interface RedirectClaims {
  t: string;
  a: string;
  b: string;
  exp: number;
  k: string;
}

export const REDIRECT_TTL_MS = 10 * 60_000;

export function issueRedirectToken(router: SigningIdentity, applicationId: string, bankId: string, now = Date.now(), ttlMs = REDIRECT_TTL_MS): { token: string; claims: RedirectClaims } {
  const claims: RedirectClaims = { t: b64url(randomBytes(16)), a: applicationId, b: bankId, exp: now + ttlMs, k: router.keyId };
  const body = canonicalJson(claims);
  return { token: `${b64url(body)}.${b64url(signBytes(router, body))}`, claims };
}

/** Checks the router's signature and expiry; the claim itself is the router's to record. */
export function readRedirectToken(token: unknown, signerOf: (keyId: string) => SignerCertificate | undefined, now = Date.now()): RedirectClaims {
  const [b, s, extra] = typeof token === 'string' ? token.split('.') : [];
  const body = fromB64url(b);
  const sig = fromB64url(s);
  const claims = body ? (parseCanonical(body) as RedirectClaims | undefined) : undefined;
  const cert = claims && typeof claims.k === 'string' ? signerOf(claims.k) : undefined;
  if (extra !== undefined || !body || !sig || !claims || !cert || cert.partyId !== 'router' || !verifyCertified(cert, body, sig)) {
    throw new DzlError('REDIRECT_TOKEN_INVALID', 'the redirect token is not one the router issued; start again from the platform');
  }
  if (typeof claims.exp !== 'number' || claims.exp < now) throw new DzlError('REDIRECT_TOKEN_EXPIRED', 'the redirect token has expired; start again from the platform');
  return claims;
}

/**
 * The redirect hop is fully determined by the token (contracts/envelope.md §15): its one field is
 * `redirect.token` and its salt is derived from the token, so the router — which issued the token
 * and holds no key of the bank's — can recompute the manifest digest and the body's length and
 * prove, without decrypting anything, that the hop carries exactly that token; the bank checks
 * the same on the opened body. A platform can smuggle no value to a bank in it.
 */
export const REDIRECT_FIELD = 'redirect.token';
const REDIRECT_SALT_LABEL = Buffer.from('dzl/v1 redirect salt\0', 'utf8');

export function redirectSalt(token: string): Buffer {
  return sha256(REDIRECT_SALT_LABEL, Buffer.from(token, 'utf8'));
}

/** The redirect hop's body, byte for byte: canonical {salt, fields: {redirect.token}}. */
export function redirectBody(token: string): Buffer {
  return canonicalJson({ salt: b64url(redirectSalt(token)), fields: { [REDIRECT_FIELD]: token } });
}

/** The router's check of a sealed redirect hop against the token it issued. */
export function checkRedirectHop(hop: { header: { hopId: string; manifest: { field: string; class: string; digest: string }[] }; ciphertext: Uint8Array }, token: string): void {
  const m = hop.header.manifest;
  const expected = fieldDigest(redirectSalt(token), REDIRECT_FIELD, token);
  const refuse = () =>
    new DzlError('DIRECT_CONNECTION_REFUSED', 'a redirect hop carries the token the router issued for this application and nothing else (contracts/envelope.md §15)', { hopId: hop.header.hopId });
  if (m.length !== 1 || m[0]!.field !== REDIRECT_FIELD || m[0]!.class !== 'C1' || m[0]!.digest !== expected) throw refuse();
  // AES-GCM: the ciphertext is the body's length plus the 16-byte tag, so nothing rides beside the token
  if (hop.ciphertext.length !== redirectBody(token).length + 16) throw refuse();
}

/** The bank's check of an opened redirect hop: the token, with the derived salt, and nothing else. */
export function checkOpenedRedirect(opened: { header: { hopId: string }; fields: Record<string, unknown>; salt: Uint8Array }): string {
  const names = Object.keys(opened.fields);
  const token = opened.fields[REDIRECT_FIELD];
  if (names.length !== 1 || typeof token !== 'string' || !Buffer.from(opened.salt).equals(redirectSalt(token))) {
    throw new DzlError('DIRECT_CONNECTION_REFUSED', 'a redirect hop carries redirect.token and nothing else, under the salt derived from it', { hopId: opened.header.hopId });
  }
  return token;
}
