/**
 * HTTP request authentication between platforms and the router (both directions: the platform
 * calling the API, the router calling the platform's callback URL).
 *
 *   Authorization: DZL-PS256 keyId=<signing certificate key id>,ts=<RFC 3339>,sig=<base64url>
 *   signed bytes:  METHOD \n PATH?QUERY \n ts \n base64url(SHA-256(body))
 */
import { DzlError } from '../common/errors';
import { b64url, fromB64url, sha256 } from './bytes';
import { signBytes, verifyBytes, type SignerCertificate, type SigningIdentity } from './hop';

export const AUTH_SCHEME = 'DZL-PS256';
const MAX_SKEW_MS = 5 * 60_000;

function signedBytes(method: string, path: string, ts: string, body: Uint8Array): Buffer {
  return Buffer.from(`${method.toUpperCase()}\n${path}\n${ts}\n${b64url(sha256(body))}`, 'utf8');
}

export function signRequest(id: SigningIdentity, method: string, path: string, body: Uint8Array, now = new Date()): string {
  const ts = now.toISOString();
  const sig = signBytes(id, signedBytes(method, path, ts, body));
  return `${AUTH_SCHEME} keyId=${id.keyId},ts=${ts},sig=${b64url(sig)}`;
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
  const fail = (why: string) => new DzlError('REQUEST_UNAUTHENTICATED', `${why}; sign requests as: Authorization: ${AUTH_SCHEME} keyId=…,ts=…,sig=…`);
  if (!authorization?.startsWith(AUTH_SCHEME + ' ')) throw fail('missing or unsupported Authorization scheme');
  const params = new Map(
    authorization
      .slice(AUTH_SCHEME.length + 1)
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
  if (new Date(at) < cert.notBefore || new Date(at) > cert.notAfter || cert.revokedAt) throw fail(`certificate ${keyId} is not valid`);
  if (!verifyBytes(cert.publicKey, signedBytes(method, path, ts, body), sig)) throw fail('signature does not verify');
  return cert.partyId;
}
