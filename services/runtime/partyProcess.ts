/**
 * `dzl channel|bank|platform --config F`: a reference party as its own process
 * (contracts/parties.md). Its keys are its folder's own (`dzl party init`, `dzl party install`);
 * who the others are, their keys and revocations come from the router's signed directory
 * (DirectoryClient); its store is its own SQLite file encrypted under its own keyring; its
 * business logic is the plug-in its configuration names; its log is its own.
 */
import type * as grpc from '@grpc/grpc-js';
import Koa from 'koa';
import getRawBody from 'raw-body';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { DzlError, toDzlError } from '../common/errors';
import { listenBounded } from '../common/http';
import { createLogger, type Logger } from '../common/logger';
import { startTracing } from '../common/tracing';
import { loadOwnIdentity } from '../network/onboarding';
import { startOpsServer, type OpsServer } from './ops';
import { ReferenceBank } from '../parties/bank';
import { bankH5App, listenH5 } from '../parties/bankH5';
import { ReferenceChannel } from '../parties/channel';
import { readPartyConfig } from '../parties/config';
import { DirectoryClient } from '../parties/directoryClient';
import type { PartyObserver } from '../parties/observer';
import { openPartyStore, type PartyStore } from '../parties/partyStore';
import { ReferencePlatform, type RouteRequest } from '../parties/platform';
import { loadChannelPolicy, loadDecisionEngine } from '../parties/pluginLoader';
import type { Fields } from '../seal/hop';

export interface RunningParty {
  partyId: string;
  role: 'channel' | 'bank' | 'platform';
  /** What the process listens on, as it printed it. */
  endpoints: Record<string, string>;
  directory: DirectoryClient;
  close(): Promise<void>;
}

const split = (hostPort: string | undefined, fallback: string): { host: string; port: number } => {
  const v = hostPort ?? fallback;
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i), port: Number(v.slice(i + 1)) };
};

/** An observer that logs what the party did, by ids and codes (never a value). */
function loggingObserver(log: Logger): PartyObserver {
  return {
    creditReportReceived: (e) => log.info(e, 'credit report received'),
    decided: (e) => log.info({ applicationId: e.applicationId, creditReportHopId: e.creditReportHopId, status: e.outcome.status, product: e.product }, 'decided'),
    decisionSubmitted: (e) => log.info(e, 'decision submitted'),
    decisionRefused: (e) => log.warn(e, 'the router refused our decision'),
    disbursementReported: (e) => log.info(e, 'disbursement reported'),
    noticeActedOn: (n) => log.info({ noticeId: n.noticeId, reason: n.reason, applicationId: n.applicationId }, 'notice acted on'),
  };
}

export async function runParty(configFile: string, expectRole?: RunningParty['role']): Promise<RunningParty> {
  const loaded = readPartyConfig(configFile);
  const { config } = loaded;
  if (expectRole && config.role !== expectRole) throw new Error(`${configFile} configures a ${config.role}, not a ${expectRole}`);
  const folder = loaded.path(config.folder);
  const party = JSON.parse(readFileSync(join(folder, 'party.json'), 'utf8')) as { id: string; role: string };
  if (party.role !== config.role) throw new Error(`${folder} holds ${party.id}, a ${party.role}; the configuration runs a ${config.role}`);
  if (!existsSync(join(folder, 'sig.crt'))) throw new Error(`${folder} has no certificates yet: install the operator's admission first (dzl party install)`);
  const log = createLogger(`dzl-${config.role}`, config.log?.file ? loaded.path(config.log.file) : undefined).child({ party: party.id });
  // traces to the organisation's collector when OTEL_EXPORTER_OTLP_ENDPOINT names one (common/tracing.ts)
  startTracing(`dzl-${config.role}`);
  const identity = loadOwnIdentity(folder);
  const directory = await DirectoryClient.open({
    routerUrl: config.routerUrl,
    identity,
    cacheFile: join(folder, 'directory.json'),
    ...(config.directory?.refreshMs ? { refreshMs: config.directory.refreshMs } : {}),
    ...(config.directory?.maxAgeMs ? { maxAgeMs: config.directory.maxAgeMs } : {}),
    log,
  });
  const closers: (() => Promise<void> | void)[] = [() => directory.close()];
  const endpoints: Record<string, string> = {};
  try {
    const store: PartyStore = await openPartyStore({ dataDir: loaded.path(config.store?.dataDir ?? join(folder, 'store')), keyDir: loaded.path(config.store?.keyDir ?? join(folder, 'vault-keys')) }, party.id);
    closers.push(() => store.close());
    const observer = loggingObserver(log);
    if (config.role === 'channel') {
      const channel = new ReferenceChannel({ identity, directory: directory.get, vault: store.vault, observer, policy: loadChannelPolicy(config.channel?.policy, loaded.baseDir) });
      const g = await channel.listen(config.listen?.grpc ?? '127.0.0.1:0');
      closers.unshift(() => shutdown(g.server));
      endpoints.grpc = g.address;
    } else if (config.role === 'bank') {
      const routerGrpc = config.routerGrpc ?? directory.get().party('router')?.grpcEndpoint;
      if (!routerGrpc) throw new Error("the directory names no gRPC endpoint of the router, and the configuration gives none (routerGrpc)");
      const bank = new ReferenceBank({
        identity,
        directory: directory.get,
        vault: store.vault,
        observer,
        engine: loadDecisionEngine(config.bank?.engine, loaded.baseDir),
        ...(config.bank?.asyncAfterMs !== undefined ? { async: { afterMs: config.bank.asyncAfterMs } } : {}),
        ...(config.bank?.disburseAfterMs !== undefined ? { disburseAfterMs: config.bank.disburseAfterMs } : {}),
        routerGrpc,
        routerUrl: config.routerUrl,
      });
      const g = await bank.listen(config.listen?.grpc ?? '127.0.0.1:0');
      closers.unshift(() => shutdown(g.server), () => bank.close());
      endpoints.grpc = g.address;
      const me = directory.get().requireParty(party.id);
      const web = split(config.listen?.web, '127.0.0.1:0');
      const h5 = await listenH5(bankH5App(bank, directory.get, me.legalName), web.port, web.host);
      closers.unshift(() => new Promise<void>((r) => h5.server.close(() => r())));
      endpoints.web = h5.url;
    } else {
      const platform = new ReferencePlatform({ identity, directory: directory.get, routerUrl: config.routerUrl, channelId: config.platform!.channel, vault: store.vault, callbackHost: split(config.listen?.callback, '127.0.0.1:0').host });
      endpoints.callback = await platform.listenForCallbacks(split(config.listen?.callback, '127.0.0.1:0').port);
      closers.unshift(() => platform.close());
      const api = split(config.listen?.api, '127.0.0.1:0');
      // without a token the API is for this machine's own callers: bound to loopback, or not at all
      if (!config.platform!.apiToken && !isLoopback(api.host)) throw new Error(`${configFile}: listen.api off loopback needs platform.apiToken`);
      const server = await listenBounded(platformApi(platform, config.platform!.apiToken, log).callback(), api.port, api.host);
      closers.unshift(() => new Promise<void>((r) => server.close(() => r())));
      endpoints.api = `http://${api.host}:${(server.address() as AddressInfo).port}`;
    }
    const ops = split(config.listen?.ops, '127.0.0.1:0');
    const opsServer: OpsServer = await startOpsServer({ directory: async () => directory.get(), store: () => store.db.raw('select 1') }, async () => undefined, ops.port, ops.host);
    closers.unshift(() => opsServer.close());
    endpoints.ops = opsServer.url;
    log.info({ endpoints, directoryVersion: directory.version }, `${config.role} running`);
    return {
      partyId: party.id,
      role: config.role,
      endpoints,
      directory,
      close: async () => {
        for (const c of closers) await c();
      },
    };
  } catch (err) {
    for (const c of closers) await Promise.resolve(c()).catch(() => undefined);
    throw err;
  }
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Finishes calls in flight for a moment, then ends the rest. */
function shutdown(server: grpc.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 5_000);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

interface SubmitRequest {
  fields: Fields;
  route: RouteRequest;
  /** For a funding-list route: the banks the customer's consent names. */
  banks?: string[];
}

/**
 * The platform process's own API, for the platform's own systems (its loan app's back end):
 * submit an application, start a redirect, read what it holds of one. Not the router's API, and
 * never public: loopback (or an internal interface with `apiToken`). Errors carry codes only.
 */
export function platformApi(platform: ReferencePlatform, token: string | undefined, log: Logger): Koa {
  const app = new Koa();
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  app.use(async (ctx) => {
    try {
      if (expected) {
        const given = Buffer.from(ctx.get('authorization'));
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new DzlError('REQUEST_UNAUTHENTICATED', 'the platform API takes its bearer token');
      } else if (!isLoopback(ctx.req.socket.remoteAddress ?? '') || !isLoopback(ctx.hostname)) {
        // no token: this machine's callers only, by address and by the name they used (a page that
        // rebinds its own name to 127.0.0.1 still says its own name)
        throw new DzlError('REQUEST_UNAUTHENTICATED', 'the platform API without a token answers loopback callers at a loopback address only');
      }
      // JSON only: a browser's form or text/plain post (no preflight) is not the platform's system
      if (ctx.method === 'POST' && !ctx.is('application/json')) throw new DzlError('REQUEST_MALFORMED', 'the platform API takes application/json');
      const body = async <T>() => JSON.parse((await getRawBody(ctx.req, { limit: '256kb' })).toString('utf8') || '{}') as T;
      if (ctx.method === 'POST' && ctx.path === '/applications') {
        const r = await body<SubmitRequest>();
        if (typeof r.fields !== 'object' || r.fields === null || typeof r.route !== 'object' || r.route === null) throw new DzlError('REQUEST_MALFORMED', 'an application is { fields, route, banks? }');
        const consent = 'bank' in r.route ? undefined : { ...platform.consentFor(r.banks ?? []) };
        const prepared = platform.prepare(r.fields, r.route, consent ? { consent } : {});
        const answer = await platform.submit(prepared);
        log.info({ applicationId: prepared.applicationId, status: answer.status, code: answer.body?.error?.code }, 'application submitted');
        ctx.status = answer.status;
        ctx.body = { applicationId: prepared.applicationId, router: answer.body };
        return;
      }
      if (ctx.method === 'POST' && ctx.path === '/redirects') {
        const r = await body<{ bank: string; fields: Fields }>();
        if (typeof r.bank !== 'string' || typeof r.fields !== 'object' || r.fields === null) throw new DzlError('REQUEST_MALFORMED', 'a redirect is { bank, fields }');
        const started = await platform.startRedirect(r.bank, r.fields);
        log.info({ applicationId: started.applicationId, status: started.submitted.status }, 'redirect started');
        ctx.status = started.submitted.status;
        ctx.body = { applicationId: started.applicationId, redirectUrl: started.redirectUrl, router: started.submitted.body };
        return;
      }
      const m = /^\/applications\/([^/]+)$/.exec(ctx.path);
      if (ctx.method === 'GET' && m) {
        const id = decodeURIComponent(m[1]!);
        // what the platform holds answers even while the router is away
        const held = await platform.record(id);
        const status = await platform.status(id).catch(() => ({ status: 503, body: { error: { code: 'PARTY_UNAVAILABLE', message: 'the router did not answer' } } }));
        ctx.body = { router: status.body, held };
        ctx.status = status.status === 200 || held.outcome ? 200 : status.status;
        return;
      }
      ctx.status = 404;
      ctx.body = { error: { code: 'ENDPOINT_NOT_FOUND', message: 'POST /applications, POST /redirects, GET /applications/{id}' } };
    } catch (err) {
      const e = toDzlError(err);
      ctx.status = e.httpStatus;
      ctx.body = { error: { code: e.code, message: e.code === 'INTERNAL' ? 'internal error' : e.message } };
    }
  });
  return app;
}
