/**
 * The network operator's API (envelope.md §24, contracts/openapi.yaml `/v1/operator/…`): admitting
 * a party with the certificates the network CA issued from its requests, changing its endpoints,
 * terms or licence, revoking a certificate, setting a platform's funding list. Each call is signed
 * by an operator's own key (services/operator/requestAuth.ts), each nonce is taken once, and each
 * change goes through the operator facade — one transaction, one `party` leaf, a new directory
 * version — and is logged with the operator's id. Certificates are issued by the CA where its key
 * is kept (`dzl operator admit`), never by the router.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { Type } from '@sinclair/typebox';
import type { KeyObject } from 'node:crypto';
import { DzlError } from '../common/errors';
import type { Logger } from '../common/logger';
import { PARTY_ROLES } from '../domain/parties';
import { checker, Timestamp } from '../evidence/schema';
import { admitParty, checkTermsForRole, revokeCertificate, setChannelLicence, updateParty } from '../operator/registry';
import { verifyOperatorRequest } from '../operator/requestAuth';
import type { NetworkDirectory } from '../registry/directory';
import type { NonceStore } from '../seal/replay';
import type { Db } from '../store/db';
import { registryVersion } from '../store/evidenceLeaves';
import { setFundingRules } from '../store/fundingRoutes';
import { partySnapshot } from '../store/parties';

export const OPERATOR_PREFIX = '/v1/operator/';

const closed = { additionalProperties: false } as const;
const Id = Type.String({ pattern: '^[a-z][a-z0-9-]{1,62}$' });
const Endpoint = Type.String({ minLength: 3, maxLength: 256, pattern: '^[^\\s]+$' });
const Licence = Type.Object(
  { number: Type.String({ minLength: 1, maxLength: 64 }), issuer: Type.String({ minLength: 1, maxLength: 128 }), validFrom: Timestamp, validUntil: Timestamp, status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]) },
  closed,
);
const Terms = {
  grpcEndpoint: Type.Optional(Endpoint),
  webUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 512 })),
  callbackOrigins: Type.Optional(Type.Array(Type.String({ pattern: '^https?://[^\\s/]+$', maxLength: 256 }), { maxItems: 16 })),
  contractedChannel: Type.Optional(Id),
  decisionTimeoutMs: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 7 * 86_400_000 })),
};
const Admission = Type.Object(
  {
    party: Type.Object({ id: Id, role: Type.Union(PARTY_ROLES.filter((r) => r !== 'router').map((r) => Type.Literal(r))), legalName: Type.String({ minLength: 1, maxLength: 128 }) }, closed),
    certificates: Type.Array(Type.String({ maxLength: 8192 }), { minItems: 3, maxItems: 3 }),
    licence: Type.Optional(Licence),
    renew: Type.Optional(Type.Boolean()),
    ...Terms,
  },
  closed,
);
const Update = Type.Object(Terms, { ...closed, minProperties: 1 });
const LicenceBody = Type.Object({ licence: Licence }, closed);
const FundingBody = Type.Object(
  {
    rules: Type.Array(
      Type.Object(
        {
          bankId: Id,
          priority: Type.Integer({ minimum: 1, maximum: 1_000 }),
          minAmount: Type.Integer({ minimum: 0 }),
          maxAmount: Type.Integer({ minimum: 0 }),
          terms: Type.Array(Type.Integer({ minimum: 1, maximum: 360 }), { minItems: 1, maxItems: 32 }),
          regions: Type.Array(Type.String({ pattern: '^(\\*|[0-9]{6})$' }), { minItems: 1, maxItems: 64 }),
          dailyQuota: Type.Integer({ minimum: 0 }),
        },
        closed,
      ),
      { maxItems: 256 },
    ),
  },
  closed,
);
const check = { admission: checker(Admission), update: checker(Update), licence: checker(LicenceBody), funding: checker(FundingBody) };

function parse<T>(c: ((v: unknown) => v is T) & { problem(): string }, body: unknown, what: string): T {
  // the schema's words, never the caller's values (envelope.md §19.2)
  if (!c(body)) throw new DzlError('REQUEST_MALFORMED', `${what}: ${c.problem().replace(/: .*$/, ': not of the documented form')}`);
  return body;
}

export interface OperatorApiDeps {
  db: Db;
  directory: () => NetworkDirectory;
  nonces: NonceStore;
  /** The operators' public keys (operators/operators.json of the network folder). */
  operators: () => ReadonlyMap<string, KeyObject>;
  log: Logger;
}

interface OperatorState {
  raw: Buffer;
  json: unknown;
  operator?: string;
}

/** Authenticates an operator call: a signature by a listed operator's key, its nonce unused. */
export function operatorAuthenticator(deps: Pick<OperatorApiDeps, 'nonces' | 'operators'>): Koa.Middleware<OperatorState> {
  return async (ctx, next) => {
    const caller = verifyOperatorRequest(ctx.get('authorization') || undefined, ctx.host, ctx.method, ctx.url, ctx.state.raw, deps.operators());
    if (!(await deps.nonces.remember(`operator:${caller.operatorId}`, caller.nonce, caller.at))) throw new DzlError('REQUEST_UNAUTHENTICATED', 'this operator request was already taken (its nonce is used)');
    ctx.state.operator = caller.operatorId;
    await next();
  };
}

async function requireRole(deps: OperatorApiDeps, id: string, roles: readonly string[]): Promise<string> {
  const p = await partySnapshot(deps.db, id);
  if (!p) throw new DzlError('PARTY_UNKNOWN', `party ${id} is not registered in the network`, { party: id });
  if (!roles.includes(p.role)) throw new DzlError('PARTY_ROLE_MISMATCH', `${id} is a ${p.role}; this change is for a ${roles.join(' or ')}`, { party: id });
  return p.role;
}

async function changed(deps: OperatorApiDeps, operator: string | undefined, action: string, party: string): Promise<{ party: string; directoryVersion: number }> {
  const directoryVersion = await registryVersion(deps.db);
  deps.log.info({ operator, action, party, directoryVersion }, 'operator change');
  return { party, directoryVersion };
}

/** The operator routes, on the router's HTTP API (they skip the party authenticator). */
export function operatorRoutes<S extends OperatorState>(router: Router<S>, deps: OperatorApiDeps): void {
  router.post('/v1/operator/parties', async (ctx) => {
    const a = parse(check.admission, ctx.state.json, 'an admission');
    checkTermsForRole(a.party.id, a.party.role, a);
    if (a.contractedChannel) await requireRole(deps, a.contractedChannel, ['channel']);
    // the certificates must be the network CA's, each naming this party and role (addCertificate checks)
    await admitParty(
      deps.db,
      { ...a.party, ...(a.grpcEndpoint ? { grpcEndpoint: a.grpcEndpoint } : {}), ...(a.webUrl ? { webUrl: a.webUrl } : {}), ...(a.callbackOrigins ? { callbackOrigins: a.callbackOrigins } : {}), ...(a.contractedChannel ? { contractedChannel: a.contractedChannel } : {}), ...(a.decisionTimeoutMs !== undefined ? { decisionTimeoutMs: a.decisionTimeoutMs } : {}), ...(a.licence ? { licence: a.licence } : {}) },
      a.certificates,
      deps.directory().caPem,
      { renew: a.renew === true },
    ).catch((err: unknown) => {
      if (err instanceof DzlError) throw err;
      throw new DzlError('HOP_CERTIFICATE_INVALID', 'a certificate is not issued by the network CA to this party and role, or does not parse');
    });
    ctx.status = 201;
    ctx.body = await changed(deps, ctx.state.operator, a.renew ? 'renew' : 'admit', a.party.id);
  });

  router.patch('/v1/operator/parties/:id', async (ctx) => {
    const id = ctx.params.id!;
    const u = parse(check.update, ctx.state.json, 'an update');
    const role = await requireRole(deps, id, ['platform', 'channel', 'bank', 'regulator']);
    checkTermsForRole(id, role, u);
    if (u.contractedChannel) await requireRole(deps, u.contractedChannel, ['channel']);
    await updateParty(deps.db, id, {
      ...(u.grpcEndpoint || u.webUrl || u.callbackOrigins ? { endpoint: { ...(u.grpcEndpoint ? { grpc: u.grpcEndpoint } : {}), ...(u.webUrl ? { web: u.webUrl } : {}), ...(u.callbackOrigins ? { callbackOrigins: u.callbackOrigins } : {}) } } : {}),
      ...(u.contractedChannel || u.decisionTimeoutMs !== undefined ? { terms: { ...(u.contractedChannel ? { contractedChannel: u.contractedChannel } : {}), ...(u.decisionTimeoutMs !== undefined ? { decisionTimeoutMs: u.decisionTimeoutMs } : {}) } } : {}),
    });
    ctx.body = await changed(deps, ctx.state.operator, 'update', id);
  });

  router.put('/v1/operator/parties/:id/licence', async (ctx) => {
    const id = ctx.params.id!;
    const { licence } = parse(check.licence, ctx.state.json, 'a licence');
    await requireRole(deps, id, ['channel']);
    await setChannelLicence(deps.db, id, licence);
    ctx.body = await changed(deps, ctx.state.operator, 'licence', id);
  });

  router.post('/v1/operator/certificates/:keyId/revoke', async (ctx) => {
    const keyId = ctx.params.keyId!;
    if (!/^[A-Za-z0-9_-]{43}$/.test(keyId)) throw new DzlError('REQUEST_MALFORMED', 'a key id is the base64url SHA-256 of the certificate (43 characters)');
    const owner = deps.directory().certificate(keyId)?.partyId;
    if (!(await revokeCertificate(deps.db, keyId))) throw new DzlError('PARTY_UNKNOWN', 'no certificate of that key id that is not already revoked');
    ctx.body = await changed(deps, ctx.state.operator, 'revoke', owner ?? 'unknown');
  });

  router.put('/v1/operator/platforms/:id/funding', async (ctx) => {
    const id = ctx.params.id!;
    const { rules } = parse(check.funding, ctx.state.json, 'a funding list');
    await requireRole(deps, id, ['platform']);
    for (const r of rules) await requireRole(deps, r.bankId, ['bank']);
    if (rules.some((r) => r.minAmount > r.maxAmount)) throw new DzlError('REQUEST_MALFORMED', 'a funding rule has minAmount above maxAmount');
    await setFundingRules(deps.db, id, rules);
    deps.log.info({ operator: ctx.state.operator, action: 'funding', party: id, rules: rules.length }, 'operator change');
    ctx.body = { party: id, rules: rules.length };
  });
}
