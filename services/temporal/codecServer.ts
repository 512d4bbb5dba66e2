/**
 * dzl's codec server: the `/decode` endpoint the Temporal Web UI (and the CLI's
 * `--codec-endpoint`) calls to show payloads the payload codec sealed. It opens them only for an
 * authenticated operator, and records every decode — who, which namespace, which applications
 * the decoded payloads name — before it answers.
 *
 * Operators: each holds an Ed25519 key; the codec server knows their public keys
 * (`operators.json`, reread when it changes, so removing an operator takes effect at once). An
 * operator presents a short-lived token signed with that key: `Authorization: Bearer <token>`
 * (the CLI's `--codec-auth`), or a cookie set by `GET /login?token=` (the browser: the UI sends
 * it because its codec setting `includeCredentials` is on). Anything else gets 401, and the UI
 * then shows the payloads as they are stored: ciphertext.
 *
 * No `/encode`: an encoder would let whoever reaches it forge payloads the workers accept (a
 * signal or a workflow input typed into the UI). Payloads are only ever sealed by routers and
 * workers.
 */
import Koa from 'koa';
import getRawBody from 'raw-body';
import { createHash, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { b64url, fromB64url } from '../seal/bytes';

export const OPERATOR_TOKEN_AUDIENCE = 'dzl-codec';
/** The longest an operator token may live: a stolen one is worth an hour at most. */
export const OPERATOR_TOKEN_MAX_LIFETIME_MS = 3600_000;
const CLOCK_SKEW_MS = 30_000;
const SESSION_COOKIE = 'dzl_operator';

export type CodecRefusal =
  | 'OPERATOR_UNAUTHENTICATED'
  | 'OPERATOR_TOKEN_INVALID'
  | 'OPERATOR_TOKEN_EXPIRED'
  | 'OPERATOR_UNKNOWN'
  | 'ORIGIN_NOT_ALLOWED'
  | 'NAMESPACE_NOT_ALLOWED'
  | 'ENCODE_NOT_OFFERED'
  | 'PAYLOADS_MALFORMED'
  | 'PAYLOAD_UNREADABLE';

const REFUSAL_STATUS: Record<CodecRefusal, number> = {
  OPERATOR_UNAUTHENTICATED: 401,
  OPERATOR_TOKEN_INVALID: 401,
  OPERATOR_TOKEN_EXPIRED: 401,
  OPERATOR_UNKNOWN: 403,
  ORIGIN_NOT_ALLOWED: 403,
  NAMESPACE_NOT_ALLOWED: 403,
  ENCODE_NOT_OFFERED: 405,
  PAYLOADS_MALFORMED: 400,
  PAYLOAD_UNREADABLE: 422,
};

export class CodecAccessRefused extends Error {
  constructor(readonly code: CodecRefusal, message: string, readonly operatorId?: string) {
    super(message);
  }
}

interface OperatorTokenClaims {
  aud: string;
  sub: string;
  iat: number;
  exp: number;
  jti: string;
}

/** `base64url(claims JSON).base64url(Ed25519 signature over those exact bytes)`. */
export function issueOperatorToken(operatorId: string, privateKey: KeyObject, lifetimeMs = 15 * 60_000, now = Date.now()): string {
  if (!(lifetimeMs > 0 && lifetimeMs <= OPERATOR_TOKEN_MAX_LIFETIME_MS)) throw new Error(`an operator token lives at most ${OPERATOR_TOKEN_MAX_LIFETIME_MS / 60_000} minutes`);
  const claims: OperatorTokenClaims = { aud: OPERATOR_TOKEN_AUDIENCE, sub: operatorId, iat: now, exp: now + lifetimeMs, jti: randomUUID() };
  const body = b64url(Buffer.from(JSON.stringify(claims)));
  return `${body}.${b64url(sign(null, Buffer.from(body), privateKey))}`;
}

/** The operator a token names, if it is signed by that operator's key and still in force. */
export function verifyOperatorToken(token: string, operators: ReadonlyMap<string, KeyObject>, now = Date.now()): { operatorId: string; expiresAt: number } {
  const [body, sig, extra] = token.split('.');
  const claimsBytes = fromB64url(body);
  const sigBytes = fromB64url(sig);
  if (extra !== undefined || !body || !claimsBytes || !sigBytes) throw new CodecAccessRefused('OPERATOR_TOKEN_INVALID', 'the operator token is not <claims>.<signature> in base64url');
  let claims: Partial<OperatorTokenClaims>;
  try {
    claims = JSON.parse(claimsBytes.toString('utf8')) as Partial<OperatorTokenClaims>;
  } catch {
    throw new CodecAccessRefused('OPERATOR_TOKEN_INVALID', 'the operator token’s claims are not JSON');
  }
  if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || typeof claims.iat !== 'number') throw new CodecAccessRefused('OPERATOR_TOKEN_INVALID', 'the operator token lacks sub, iat or exp');
  const key = operators.get(claims.sub);
  if (!key) throw new CodecAccessRefused('OPERATOR_UNKNOWN', `${claims.sub} is not an operator of this codec server`, claims.sub);
  // the signature first: nothing else a token says is believed before it
  if (!verify(null, Buffer.from(body), key, sigBytes)) throw new CodecAccessRefused('OPERATOR_TOKEN_INVALID', `the token is not signed by ${claims.sub}’s key`, claims.sub);
  if (claims.aud !== OPERATOR_TOKEN_AUDIENCE) throw new CodecAccessRefused('OPERATOR_TOKEN_INVALID', `the token is for ${String(claims.aud)}, not ${OPERATOR_TOKEN_AUDIENCE}`, claims.sub);
  if (claims.exp - claims.iat > OPERATOR_TOKEN_MAX_LIFETIME_MS) throw new CodecAccessRefused('OPERATOR_TOKEN_INVALID', 'the token claims to live longer than an hour', claims.sub);
  if (claims.iat > now + CLOCK_SKEW_MS) throw new CodecAccessRefused('OPERATOR_TOKEN_INVALID', 'the token was issued in the future', claims.sub);
  if (claims.exp <= now) throw new CodecAccessRefused('OPERATOR_TOKEN_EXPIRED', `${claims.sub}’s token expired at ${new Date(claims.exp).toISOString()}`, claims.sub);
  return { operatorId: claims.sub, expiresAt: claims.exp };
}

/** operators.json: `{ "operators": [{ "id": "…", "publicKeyPem": "…" }] }`, reread when it changes. */
export function operatorsFromFile(file: string): () => ReadonlyMap<string, KeyObject> {
  let loaded: { mtimeMs: number; size: number; operators: Map<string, KeyObject> } | undefined;
  return () => {
    if (!existsSync(file)) return new Map();
    const st = statSync(file);
    if (!loaded || loaded.mtimeMs !== st.mtimeMs || loaded.size !== st.size) {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { operators?: { id: string; publicKeyPem: string }[] };
      loaded = { mtimeMs: st.mtimeMs, size: st.size, operators: new Map((parsed.operators ?? []).map((o) => [o.id, createPublicKey(o.publicKeyPem)])) };
    }
    return loaded.operators;
  };
}

export interface CodecAuditEntry {
  event: 'decoded' | 'refused' | 'signed_in';
  operator?: string;
  namespace?: string;
  /** The page that asked, as the browser tells it (cross-origin: the UI's origin only). */
  origin?: string;
  remote?: string;
  payloads?: number;
  /** Ids the decoded payloads name (workflows carry ids only): what the operator was shown. */
  applicationIds?: string[];
  hopIds?: string[];
  code?: CodecRefusal;
  reason?: string;
}

/**
 * An append-only file of JSON lines, each carrying the SHA-256 of the line before it, so a line
 * removed or edited later shows. Written synchronously before the answer leaves: no decode goes
 * unrecorded. One codec server per file.
 */
export class CodecAudit {
  private prev: string;

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    this.prev = lines.length ? sha256(lines[lines.length - 1]!) : sha256('');
  }

  record(entry: CodecAuditEntry, now = new Date()): void {
    const line = JSON.stringify({ at: now.toISOString(), ...entry, prev: this.prev });
    appendFileSync(this.file, `${line}\n`);
    this.prev = sha256(line);
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A Payload in proto3 JSON (bytes as base64), as the UI and the CLI send it. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

function fromJson(p: JsonPayload): Payload {
  if (!p || typeof p !== 'object') throw new CodecAccessRefused('PAYLOADS_MALFORMED', 'a payload is not an object');
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

/**
 * The ids a decoded JSON payload names (an activity's result names hops, the workflow's input
 * its application; the ledger maps a hop to its application); nothing else in it is kept.
 */
function namedIds(payloads: Payload[]): { applicationIds: string[]; hopIds: string[] } {
  const applicationIds = new Set<string>();
  const hopIds = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8 || !v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'applicationId' && typeof x === 'string') applicationIds.add(x);
      else if (/hopId$/i.test(k) && typeof x === 'string') hopIds.add(x);
      else walk(x, depth + 1);
    }
  };
  for (const p of payloads) {
    if (Buffer.from(p.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== 'json/plain') continue;
    try {
      walk(JSON.parse(Buffer.from(p.data ?? []).toString('utf8')), 0);
    } catch {
      // not JSON after all: nothing to name
    }
  }
  return { applicationIds: [...applicationIds].sort(), hopIds: [...hopIds].sort() };
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export interface CodecServerOptions {
  codec: PayloadCodec;
  operators: () => ReadonlyMap<string, KeyObject>;
  /** The origins whose pages may call /decode (the UI's), exactly: no wildcard, since credentials ride along. */
  allowedOrigins: string[];
  /** The Temporal namespaces it decodes for. */
  namespaces: string[];
  audit: CodecAudit;
  /** Set the session cookie `Secure` (the codec server is behind HTTPS). */
  secureCookies?: boolean;
  now?: () => number;
}

/** The operator behind a request: the bearer token, else the session cookie. */
function authenticate(ctx: Koa.Context, o: CodecServerOptions): string {
  const auth = ctx.get('authorization');
  const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1] ?? cookie(ctx.get('cookie'), SESSION_COOKIE);
  if (!token) throw new CodecAccessRefused('OPERATOR_UNAUTHENTICATED', 'sign in first: open the link `deploy/bin/operatorLink.js` prints, or send Authorization: Bearer <operator token>');
  return verifyOperatorToken(token, o.operators(), (o.now ?? Date.now)()).operatorId;
}

export function createCodecApp(o: CodecServerOptions): Koa {
  const app = new Koa();
  const allowed = new Set(o.allowedOrigins);
  app.use(async (ctx) => {
    const origin = ctx.get('origin') || undefined;
    const remote = ctx.request.ip;
    const corsFor = () => {
      if (origin && allowed.has(origin)) {
        ctx.set('Access-Control-Allow-Origin', origin);
        ctx.set('Access-Control-Allow-Credentials', 'true');
      }
      ctx.vary('Origin');
    };
    try {
      if (ctx.method === 'GET' && ctx.path === '/healthz') {
        ctx.body = { status: 'ok' };
        return;
      }
      if (ctx.method === 'GET' && ctx.path === '/login') {
        const token = String(ctx.query.token ?? '');
        const { operatorId, expiresAt } = verifyOperatorToken(token, o.operators(), (o.now ?? Date.now)());
        const maxAge = Math.max(0, Math.floor((expiresAt - (o.now ?? Date.now)()) / 1000));
        ctx.set('Set-Cookie', `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${o.secureCookies ? '; Secure' : ''}`);
        ctx.set('Cache-Control', 'no-store');
        o.audit.record({ event: 'signed_in', operator: operatorId, remote });
        const next = String(ctx.query.next ?? '');
        // only back to the UI: never an open redirect
        const nextOrigin = (() => {
          try {
            return new URL(next).origin;
          } catch {
            return undefined;
          }
        })();
        if (nextOrigin && allowed.has(nextOrigin)) ctx.redirect(next);
        else ctx.body = `signed in as ${operatorId} until ${new Date(expiresAt).toISOString()}; decodes are recorded\n`;
        return;
      }
      if (ctx.method === 'GET' && ctx.path === '/logout') {
        ctx.set('Set-Cookie', `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${o.secureCookies ? '; Secure' : ''}`);
        ctx.body = 'signed out\n';
        return;
      }
      // the protocol: only the last part of the path names the operation
      const operation = ctx.path.split('/').pop();
      if (operation !== 'decode' && operation !== 'encode') {
        ctx.status = 404;
        return;
      }
      if (origin && !allowed.has(origin)) throw new CodecAccessRefused('ORIGIN_NOT_ALLOWED', `pages from ${origin} may not call this codec server`);
      if (ctx.method === 'OPTIONS') {
        // the preflight: JSON and X-Namespace make the UI's call a non-simple request
        corsFor();
        ctx.set('Access-Control-Allow-Methods', 'POST');
        ctx.set('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization, authorization-extras');
        ctx.set('Access-Control-Max-Age', '600');
        ctx.status = 204;
        return;
      }
      corsFor();
      if (ctx.method !== 'POST') {
        ctx.status = 405;
        return;
      }
      if (operation === 'encode') throw new CodecAccessRefused('ENCODE_NOT_OFFERED', 'this codec server decodes only: payloads are sealed by routers and workers');
      const operator = authenticate(ctx, o);
      const namespace = ctx.get('x-namespace') || undefined;
      if (namespace && !o.namespaces.includes(namespace)) throw new CodecAccessRefused('NAMESPACE_NOT_ALLOWED', `this codec server decodes for ${o.namespaces.join(', ')}, not ${namespace}`, operator);
      let body: { payloads?: JsonPayload[] };
      try {
        body = JSON.parse((await getRawBody(ctx.req, { limit: '4mb' })).toString('utf8')) as { payloads?: JsonPayload[] };
      } catch {
        throw new CodecAccessRefused('PAYLOADS_MALFORMED', 'the body is not a JSON Payloads message', operator);
      }
      if (!Array.isArray(body.payloads)) throw new CodecAccessRefused('PAYLOADS_MALFORMED', 'the body has no payloads array', operator);
      let decoded: Payload[];
      try {
        decoded = await o.codec.decode(body.payloads.map(fromJson));
      } catch (err) {
        throw new CodecAccessRefused('PAYLOAD_UNREADABLE', `a payload could not be opened: ${err instanceof Error ? err.message : String(err)}`, operator);
      }
      o.audit.record({ event: 'decoded', operator, ...(namespace ? { namespace } : {}), ...(origin ? { origin } : {}), remote, payloads: decoded.length, ...namedIds(decoded) });
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { payloads: decoded.map(toJson) };
    } catch (err) {
      if (!(err instanceof CodecAccessRefused)) throw err;
      o.audit.record({ event: 'refused', code: err.code, reason: err.message, ...(err.operatorId ? { operator: err.operatorId } : {}), ...(ctx.get('x-namespace') ? { namespace: ctx.get('x-namespace') } : {}), ...(origin ? { origin } : {}), remote });
      ctx.status = REFUSAL_STATUS[err.code];
      ctx.body = { error: { code: err.code, message: err.message } };
    }
  });
  return app;
}

export async function startCodecServer(o: CodecServerOptions, listen: { host?: string; port?: number } = {}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createCodecApp(o).listen(listen.port ?? 0, listen.host ?? '127.0.0.1');
  await new Promise<void>((r, j) => {
    server.once('listening', () => r());
    server.once('error', j);
  });
  const host = listen.host && listen.host !== '0.0.0.0' ? listen.host : '127.0.0.1';
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
