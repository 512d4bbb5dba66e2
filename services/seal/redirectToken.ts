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
import { b64url, fromB64url } from './bytes';
import { canonicalJson, parseCanonical } from './canonical';
import { signBytes, verifyCertified, type SignerCertificate, type SigningIdentity } from './hop';

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
