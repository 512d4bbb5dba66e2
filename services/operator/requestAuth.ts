/**
 * The network operator's request signature (envelope.md §24): each call of the operator API is
 * signed with an operator's own Ed25519 key, listed (public key only) in the network's
 * `operators/operators.json` — the same operators the codec server lets in. A signature binds the
 * method, path and query, a timestamp within ±5 minutes, a nonce used once, and the body's
 * SHA-256:
 *
 *   Authorization: DZL-Operator-Ed25519 id=<operator>,ts=<RFC 3339>,nonce=<b64u 16 bytes>,sig=<b64u>
 *   signed bytes = "dzl-operator-request/v1\n" host "\n" METHOD "\n" path?query "\n" ts "\n" nonce "\n" b64u(SHA-256(body))
 *
 * `host` is the authority the operator addressed (host:port of the router's URL, as the Host
 * header carries it), so a call captured on one network's router does not replay on another's.
 */
import { createHash, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { DzlError, isErrorCode } from '../common/errors';
import { b64url, fromB64url } from '../seal/bytes';
import { isRfc3339WithZone } from '../seal/requestSignature';

export const OPERATOR_SCHEME = 'DZL-Operator-Ed25519';
const MAX_SKEW_MS = 5 * 60_000;
const MAX_AUTHORIZATION_BYTES = 1024;

function signedBytes(host: string, method: string, path: string, ts: string, nonce: string, body: Uint8Array): Buffer {
  return Buffer.from(`dzl-operator-request/v1\n${host.toLowerCase()}\n${method.toUpperCase()}\n${path}\n${ts}\n${nonce}\n${b64url(createHash('sha256').update(body).digest())}`);
}

export function signOperatorRequest(operatorId: string, key: KeyObject, host: string, method: string, path: string, body: Uint8Array, now = new Date()): string {
  const ts = now.toISOString();
  const nonce = b64url(randomBytes(16));
  const sig = b64url(sign(null, signedBytes(host, method, path, ts, nonce, body), key));
  return `${OPERATOR_SCHEME} id=${operatorId},ts=${ts},nonce=${nonce},sig=${sig}`;
}

export interface OperatorCaller {
  operatorId: string;
  nonce: string;
  at: Date;
}

/** The operator who signed this request; REQUEST_UNAUTHENTICATED otherwise (nothing the caller sent is quoted). */
export function verifyOperatorRequest(authorization: string | undefined, host: string, method: string, path: string, body: Uint8Array, operators: ReadonlyMap<string, KeyObject>, now = new Date()): OperatorCaller {
  const fail = (why: string) => new DzlError('REQUEST_UNAUTHENTICATED', `${why}; the operator API takes Authorization: ${OPERATOR_SCHEME} id=…,ts=…,nonce=…,sig=…`);
  if (!authorization || authorization.length > MAX_AUTHORIZATION_BYTES || !authorization.startsWith(`${OPERATOR_SCHEME} `)) throw fail('missing, oversized or another scheme of Authorization');
  const params = new Map(
    authorization
      .slice(OPERATOR_SCHEME.length + 1)
      .split(',')
      .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).trim()] as const),
  );
  const operatorId = params.get('id');
  const ts = params.get('ts');
  const nonce = params.get('nonce');
  const sig = fromB64url(params.get('sig'));
  if (!operatorId || !ts || !nonce || !sig || params.size !== 4) throw fail('Authorization lacks id, ts, nonce or sig, or has other members');
  if (!isRfc3339WithZone(ts) || Number.isNaN(Date.parse(ts)) || Math.abs(now.getTime() - Date.parse(ts)) > MAX_SKEW_MS) throw fail('ts is not an RFC 3339 time within ±5 minutes');
  if (fromB64url(nonce)?.length !== 16) throw fail('nonce is not 16 bytes of base64url');
  const key = operators.get(operatorId);
  if (!key) throw fail('id is not an operator of this network');
  if (!verify(null, signedBytes(host, method, path, ts, nonce, body), key, sig)) throw fail('signature does not verify');
  return { operatorId, nonce, at: new Date(Date.parse(ts)) };
}

/** An operator's call of the operator API: signed, sent, its JSON answer; a refusal throws its code. */
export async function callOperatorApi(api: string, operatorId: string, key: KeyObject, method: string, path: string, body?: unknown): Promise<unknown> {
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  let res: Response;
  try {
    res = await fetch(`${api.replace(/\/$/, '')}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: signOperatorRequest(operatorId, key, new URL(api).host, method, path, bytes) },
      ...(body === undefined ? {} : { body: bytes }),
      signal: AbortSignal.timeout(30_000),
      redirect: 'error',
    });
  } catch {
    throw new DzlError('PARTY_UNAVAILABLE', 'the router did not answer the operator API');
  }
  const answer = (await res.json().catch(() => undefined)) as { error?: { code?: unknown; message?: string } } | undefined;
  if (!res.ok) {
    const code = answer?.error?.code;
    throw new DzlError(isErrorCode(code) ? code : 'PARTY_UNAVAILABLE', `the operator API refused: ${answer?.error?.message ?? `HTTP ${res.status}`}`);
  }
  return answer;
}
