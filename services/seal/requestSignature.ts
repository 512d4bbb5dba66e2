/**
 * HTTP request authentication between platforms and the router (both directions: the platform
 * calling the API, the router calling the platform's callback URL).
 *
 *   Authorization: <scheme> keyId=<signing certificate key id>,ts=<RFC 3339>,sig=<base64url>
 *   signed bytes:  METHOD \n PATH?QUERY \n ts \n base64url(H(body))
 *
 * The scheme names the signer's suite: DZL-PS256 (RSA-PSS, H = SHA-256) or DZL-SM2-SM3 (SM2 with
 * SM3, H = SM3); envelope.md §17 and §22.
 */
import { DzlError } from '../common/errors';
import { b64url, fromB64url } from './bytes';
import { verifyCertified, type SignerCertificate, type SigningIdentity } from './hop';
import { RSA_SUITE, suiteOfAuthorization, suiteOfKey, SM_SUITE, type CipherSuite } from './suites/registry';

/** The scheme of an RSA signer, which every request carried before the SM suite. */
export const AUTH_SCHEME = RSA_SUITE.authScheme;
const SCHEMES = `${RSA_SUITE.authScheme} or ${SM_SUITE.authScheme}`;
const MAX_SKEW_MS = 5 * 60_000;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|([+-])(\d{2}):(\d{2}))$/;

/** An RFC 3339 date-time with its zone that names a real instant: no hour 24, no 30 February, no leap second. */
export function isRfc3339WithZone(ts: string): boolean {
  const m = RFC3339.exec(ts);
  if (!m) return false;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const zoneOk = m[8] === 'Z' || (Number(m[10]) <= 23 && Number(m[11]) <= 59);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h <= 23 && mi <= 59 && se <= 59 && zoneOk;
}
/** An Authorization header is a scheme and three short parameters. */
const MAX_AUTHORIZATION_BYTES = 2048;

function signedBytes(suite: CipherSuite, method: string, path: string, ts: string, body: Uint8Array): Buffer {
  return Buffer.from(`${method.toUpperCase()}\n${path}\n${ts}\n${b64url(suite.hash(body))}`, 'utf8');
}

export function signRequest(id: SigningIdentity, method: string, path: string, body: Uint8Array, now = new Date()): string {
  const suite = suiteOfKey(id.privateKey);
  const ts = now.toISOString();
  const sig = suite.sign(id.privateKey, signedBytes(suite, method, path, ts, body));
  return `${suite.authScheme} keyId=${id.keyId},ts=${ts},sig=${b64url(sig)}`;
}

/** The authenticated party id, or REQUEST_UNAUTHENTICATED with what is wrong. */
export function verifyRequest(
  authorization: string | undefined,
  method: string,
  path: string,
  body: Uint8Array,
  signerOf: (keyId: string) => SignerCertificate | undefined,
  now = new Date(),
): string {
  const fail = (why: string) => new DzlError('REQUEST_UNAUTHENTICATED', `${why}; sign requests as: Authorization: ${SCHEMES} keyId=…,ts=…,sig=…`);
  if (authorization !== undefined && authorization.length > MAX_AUTHORIZATION_BYTES) throw fail('the Authorization header is too long');
  const suite = authorization === undefined ? undefined : suiteOfAuthorization(authorization);
  if (!authorization || !suite) throw fail('missing or unsupported Authorization scheme');
  const params = new Map(
    authorization
      .slice(suite.authScheme.length + 1)
      .split(',')
      .map((kv) => {
        const i = kv.indexOf('=');
        return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()] as const;
      }),
  );
  const keyId = params.get('keyId');
  const ts = params.get('ts');
  const sig = fromB64url(params.get('sig'));
  if (!keyId || !ts || !sig) throw fail('Authorization lacks keyId, ts or sig');
  // RFC 3339 with its zone (Z or ±hh:mm): nothing Date.parse would guess at
  if (!isRfc3339WithZone(ts)) throw fail('ts must be an RFC 3339 date-time with a zone, e.g. 2026-12-02T10:00:00.000Z');
  const at = Date.parse(ts);
  if (Number.isNaN(at) || Math.abs(now.getTime() - at) > MAX_SKEW_MS) throw fail('ts is outside the ±5 minute window');
  const cert = signerOf(keyId);
  if (!cert) throw fail('keyId is not a registered signing certificate');
  if (cert.suite !== suite.name) throw fail(`scheme ${suite.authScheme} does not match the certificate's ${cert.suite} suite`);
  if (new Date(at) < cert.notBefore || new Date(at) > cert.notAfter || cert.revokedAt) throw fail('the signing certificate is not in force');
  if (!verifyCertified(cert, signedBytes(suite, method, path, ts, body), sig)) throw fail('signature does not verify');
  return cert.partyId;
}
