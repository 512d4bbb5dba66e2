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
  const at = Date.parse(ts);
  if (Number.isNaN(at) || Math.abs(now.getTime() - at) > MAX_SKEW_MS) throw fail(`ts ${ts} is outside the ±5 minute window`);
  const cert = signerOf(keyId);
  if (!cert) throw fail(`key ${keyId} is not a registered signing certificate`);
  if (cert.suite !== suite.name) throw fail(`scheme ${suite.authScheme} does not match certificate ${keyId} (${cert.suite} suite)`);
  if (new Date(at) < cert.notBefore || new Date(at) > cert.notAfter || cert.revokedAt) throw fail(`certificate ${keyId} is not valid`);
  if (!verifyCertified(cert, signedBytes(suite, method, path, ts, body), sig)) throw fail('signature does not verify');
  return cert.partyId;
}
