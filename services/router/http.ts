/**
 * The router's HTTP API for platforms (and, read-only, regulators): contracts/openapi.yaml.
 * Cross-cutting checks are middleware factories taking their dependencies, each testable alone.
 */
import { contextFromHeaders, inSpan, safeAttributes, SpanKind } from '../common/tracing';
import Router from '@koa/router';
import Koa from 'koa';
import getRawBody from 'raw-body';
import { DzlError, toDzlError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { UnauthenticatedRefusals } from '../ledger/noise';
import { requireWithinBounds } from '../common/bounds';
import type { NetworkDirectory } from '../registry/directory';
import { redactedError, valuesOf, vocabulary } from '../ledger/redaction';
import { httpRequests } from '../common/metrics';
import { verifyRequest } from '../seal/requestSignature';
import { applicationProvenance, applicationStatus, applicationWhoSawWhat, reconciliation } from './applicationViews';
import { acceptApplication } from './intake';
import { declareConsent, readConsent, withdrawConsent } from './consents';
import { currentDirectory } from './directory';
import { issueRedirect, submitRedirectHops, type RedirectDeps } from './redirects';
import { errorPage, regulatorPageRoutes } from './regulatorPage';
import { tileLogRoutes } from './tiles';
import { OPERATOR_PREFIX, operatorAuthenticator, operatorRoutes, type OperatorApiDeps } from './operatorApi';
import {
  auditDirectConnections,
  bundleForApplication,
  bundleForParty,
  checkpointNow,
  consistency,
  cosign,
  currentCheckpoint,
  requireRegulator,
  type RegulatorDeps,
} from './regulator';

export const MAX_BODY_BYTES = 256 * 1024;

interface State {
  raw: Buffer;
  json: unknown;
  party: string;
}

/** What the caller sent, for redaction: its body, the path's parameters, its query, its idempotency key. */
function sentBy(ctx: Koa.ParameterizedContext<State>): string[] {
  const segments = ctx.path.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return valuesOf(ctx.state.json, (ctx as { params?: unknown }).params, ctx.query, ctx.get('idempotency-key'), segments, ctx.path);
}

/**
 * DzlError → HTTP status and `{error: {code, message, details}}`, in one place; the message and
 * details never quote what the caller sent (envelope.md §19.2: values become ‹len:digest› tokens).
 */
export function errorResponder(log: Logger, directory: () => NetworkDirectory, routeWords: ReadonlySet<string> = new Set()): Koa.Middleware<State> {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const e = toDzlError(err);
      // the error's class and code (a driver's ER_LOCK_DEADLOCK, say) and the route's template, never
      // its message or the path: either may quote values
      if (e.code === 'INTERNAL') log.error({ err: (err as Error)?.name, errCode: (err as { code?: unknown })?.code, route: (ctx as { _matchedRoute?: unknown })._matchedRoute ?? ctx.path.split('/').slice(0, 3).join('/') }, 'internal error');
      ctx.status = e.httpStatus;
      ctx.body = { error: redactedError(e, sentBy(ctx), vocabulary([...directory().all().map((p) => p.id), ...routeWords])) };
    }
  };
}

/** A request line the router reads at all: its path and query bounded before routing. */
const MAX_PATH_BYTES = 1024;
const MAX_QUERY_BYTES = 1024;

export function bodyReader(noise: UnauthenticatedRefusals, limit = MAX_BODY_BYTES): Koa.Middleware<State> {
  const refuse = (e: DzlError) => {
    noise.note('http', e.code);
    return e;
  };
  return async (ctx, next) => {
    if (ctx.path.length > MAX_PATH_BYTES || ctx.querystring.length > MAX_QUERY_BYTES) {
      throw refuse(new DzlError('REQUEST_TOO_LARGE', `the request path and query are at most ${MAX_PATH_BYTES} and ${MAX_QUERY_BYTES} bytes`, { limit: 'url' }));
    }
    try {
      ctx.state.raw = await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
    } catch (err) {
      const tooLarge = (err as { type?: string }).type === 'entity.too.large';
      throw refuse(
        tooLarge
          ? new DzlError('REQUEST_TOO_LARGE', `request body exceeds ${limit} bytes; a sealed application is a few KiB`, { limit: 'bytes' })
          : new DzlError('REQUEST_MALFORMED', 'request body could not be read'),
      );
    }
    if (ctx.state.raw.length > 0) {
      try {
        ctx.state.json = JSON.parse(ctx.state.raw.toString('utf8'));
      } catch {
        throw refuse(new DzlError('REQUEST_MALFORMED', 'request body is not JSON; send application/json'));
      }
      try {
        requireWithinBounds(ctx.state.json);
      } catch (err) {
        throw refuse(err as DzlError);
      }
    }
    await next();
  };
}

/** The caller's party, from its request signature; a caller that proves none is counted as noise. */
export function partyAuthenticator(directory: () => NetworkDirectory, noise: UnauthenticatedRefusals): Koa.Middleware<State> {
  return async (ctx, next) => {
    try {
      ctx.state.party = verifyRequest(ctx.get('authorization') || undefined, ctx.method, ctx.url, ctx.state.raw, directory().signerOf);
    } catch (err) {
      if (err instanceof DzlError) noise.note('http', err.code);
      throw err;
    }
    await next();
  };
}

export interface HttpDeps extends RedirectDeps {
  log: Logger;
  /** The network operators' keys, for the operator API (none: every operator call is refused). */
  operators?: OperatorApiDeps['operators'];
  /** Where refusals of callers that proved no identity are counted (ledger/noise.ts). */
  noise: UnauthenticatedRefusals;
  regulator: RegulatorDeps;
}

export function createHttpApp(deps: HttpDeps): Koa<State> {
  const app = new Koa<State>();
  // paths match exactly as written (case included): an authenticator chosen by path prefix and the
  // route a request reaches must agree on what the path is
  const router = new Router<State>({ sensitive: true });

  router.post('/v1/applications', async (ctx) => {
    const answer = await acceptApplication(deps, ctx.state.party, ctx.get('idempotency-key') || undefined, ctx.state.json);
    ctx.status = answer.replayed ? 200 : 202;
    ctx.body = answer;
  });

  router.get('/v1/applications/:id', async (ctx) => {
    ctx.body = await applicationStatus(deps, ctx.state.party, ctx.params.id!);
  });

  router.get('/v1/applications/:id/provenance', async (ctx) => {
    ctx.body = await applicationProvenance(deps, ctx.state.party, ctx.params.id!);
  });

  router.post('/v1/consents', async (ctx) => {
    const { created, view } = await declareConsent(deps, ctx.state.party, ctx.state.json);
    ctx.status = created ? 201 : 200;
    ctx.body = view;
  });

  // the registry, signed and versioned (envelope.md §23): any registered party may fetch it
  router.get('/v1/directory', async (ctx) => {
    ctx.set('cache-control', 'no-cache');
    ctx.body = await currentDirectory(deps);
  });

  router.get('/v1/consents/:id', async (ctx) => {
    ctx.body = await readConsent(deps, ctx.state.party, ctx.params.id!);
  });

  router.post('/v1/consents/:id/withdraw', async (ctx) => {
    ctx.body = await withdrawConsent(deps, ctx.state.party, ctx.params.id!, ctx.state.json);
  });

  router.get('/v1/applications/:id/who-saw-what', async (ctx) => {
    ctx.body = await applicationWhoSawWhat(deps, ctx.state.party, ctx.params.id!);
  });

  router.post('/v1/redirects', async (ctx) => {
    ctx.status = 201;
    ctx.body = await issueRedirect(deps, ctx.state.party, ctx.state.json);
  });

  router.post('/v1/redirects/:id/hops', async (ctx) => {
    const answer = await submitRedirectHops(deps, ctx.state.party, ctx.params.id!, ctx.get('idempotency-key') || undefined, ctx.state.json);
    ctx.status = answer.replayed ? 200 : 202;
    ctx.body = answer;
  });

  router.get('/v1/reconciliation', async (ctx) => {
    ctx.body = await reconciliation(deps, ctx.state.party, ctx.query.day);
  });

  const reg = deps.regulator;
  router.get('/v1/regulator/checkpoint', async (ctx) => {
    requireRegulator(reg, ctx.state.party);
    ctx.body = await currentCheckpoint(reg);
  });
  router.post('/v1/regulator/checkpoint', async (ctx) => {
    requireRegulator(reg, ctx.state.party);
    ctx.body = await checkpointNow(reg);
  });
  router.get('/v1/regulator/consistency', async (ctx) => {
    requireRegulator(reg, ctx.state.party);
    ctx.body = await consistency(reg, Number(ctx.query.from), Number(ctx.query.to));
  });
  router.post('/v1/regulator/checkpoint/:size/cosignature', async (ctx) => {
    const regulator = requireRegulator(reg, ctx.state.party);
    const line = (ctx.state.json as { line?: unknown } | undefined)?.line;
    if (typeof line !== 'string') throw new DzlError('REQUEST_MALFORMED', 'body must be {"line": "— <witness> <base64>"}');
    ctx.body = await cosign(reg, regulator, Number(ctx.params.size), line);
  });
  router.get('/v1/regulator/applications/:id/bundle', async (ctx) => {
    requireRegulator(reg, ctx.state.party);
    ctx.body = await bundleForApplication(reg, ctx.params.id!, { witnessed: ctx.query.witnessed === '1' });
  });
  router.get('/v1/regulator/parties/:id/bundle', async (ctx) => {
    requireRegulator(reg, ctx.state.party);
    ctx.body = await bundleForParty(reg, ctx.params.id!, ctx.query.from as string | undefined, ctx.query.to as string | undefined, { witnessed: ctx.query.witnessed === '1' });
  });
  router.get('/v1/regulator/audit/direct-connection', async (ctx) => {
    requireRegulator(reg, ctx.state.party);
    ctx.body = await auditDirectConnections(reg, { witnessed: ctx.query.witnessed === '1' });
  });

  // the network operator's API: signed by an operator's own key, not a party's (envelope.md §24)
  operatorRoutes(router, { db: deps.db, directory: deps.directory, nonces: deps.nonces, operators: deps.operators ?? (() => new Map()), log: deps.log });
  const operatorAuth = operatorAuthenticator({ nonces: deps.nonces, operators: deps.operators ?? (() => new Map()) });

  // one server span per request, a child of the caller's traceparent (services/common/tracing.ts)
  app.use(async (ctx, next) =>
    inSpan(
      `HTTP ${ctx.method}`,
      { 'http.method': ctx.method, 'dzl.component': 'router' },
      async (span) => {
        try {
          await next();
        } finally {
          const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
          if (typeof route === 'string') span.updateName(`HTTP ${ctx.method} ${route}`);
          const code = (ctx.body as { error?: { code?: unknown } } | undefined)?.error?.code;
          span.setAttributes(safeAttributes({ 'http.status_code': ctx.status, ...(typeof route === 'string' ? { 'http.route': route } : {}), ...(typeof code === 'string' ? { 'dzl.code': code } : {}) }));
        }
      },
      { kind: SpanKind.SERVER, parent: contextFromHeaders(ctx.headers) },
    ),
  );
  // duration by method and status class only: a path would name ids
  app.use(async (ctx, next) => {
    const end = httpRequests.startTimer({ method: ctx.method });
    try {
      await next();
    } finally {
      end({ status: `${Math.floor(ctx.status / 100)}xx` });
    }
  });
  // the API's own path words, from its routes: a path's other segments are the caller's values
  const routeWords = new Set(router.stack.flatMap((layer) => (typeof layer.path === 'string' ? layer.path.split('/') : [])).filter((w) => w !== '' && !w.startsWith(':')));
  app.use(errorResponder(deps.log, deps.directory, routeWords));
  app.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/healthz') ctx.body = { status: 'ok' };
    else await next();
  });
  // the log's tiles and checkpoint are public and read-only (services/router/tiles.ts says why)
  app.use(tileLogRoutes(reg));
  // the regulator's page authenticates by its link token, not a request signature
  const pages = regulatorPageRoutes(reg).routes();
  app.use(async (ctx, next) => {
    if (ctx.method !== 'GET' || !ctx.path.startsWith('/regulator')) return next();
    try {
      await pages(ctx as never, next);
    } catch (err) {
      const e = toDzlError(err);
      // a link that proves no regulator is noise anyone can make: counted, aggregated into the ledger
      if (e.code !== 'INTERNAL') deps.noise.note('regulator page', e.code);
      ctx.status = e.httpStatus;
      ctx.type = 'html';
      ctx.body = errorPage(e.code, redactedError(e, sentBy(ctx), vocabulary([...deps.directory().all().map((p) => p.id), ...routeWords])).message);
    }
  });
  app.use(bodyReader(deps.noise));
  const partyAuth = partyAuthenticator(deps.directory, deps.noise);
  app.use(async (ctx, next) => {
    if (!ctx.path.toLowerCase().startsWith(OPERATOR_PREFIX)) return partyAuth(ctx, next);
    try {
      await operatorAuth(ctx, async () => undefined);
    } catch (err) {
      // a caller that proves no operator is noise anyone can make: counted, aggregated
      if (err instanceof DzlError) deps.noise.note('operator', err.code);
      throw err;
    }
    await next();
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use(async (ctx) => {
    throw new DzlError('ENDPOINT_NOT_FOUND', `no endpoint ${ctx.method} ${ctx.path}; see contracts/openapi.yaml`);
  });
  return app;
}
