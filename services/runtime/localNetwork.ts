/**
 * A whole network on loopback: the reference channel and banks behind mutual-TLS gRPC, the
 * router's HTTP API, a worker, and the reference platform with its callback endpoint. Each part
 * is the real component; only the parties' business logic is a reference implementation.
 */
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type * as grpc from '@grpc/grpc-js';
import { createDevNetwork, loadDirectory, loadPartyIdentity, networkExists, readNetworkFile } from '../network/folder';
import { ReferenceBank } from '../parties/bank';
import { ReferenceChannel } from '../parties/channel';
import { ReferencePlatform } from '../parties/platform';
import { openDb, type Db } from '../store/db';
import { registerNetwork, setBankTerms, setPartyEndpoint } from '../operator/registry';
import type { FundingRule } from '../routing/funding';
import { setFundingRules } from '../store/fundingRoutes';
import type { BankDecision, ChannelPolicy, DecisionEngine } from '../parties/plugins';
import { DEFAULT_BANK_MODEL, decide } from '../parties/plugins';
import type { Fields } from '../seal/hop';
import { PartyEvents } from './partyEvents';
import { bankH5App, listenH5 } from '../parties/bankH5';
import type { Server } from 'node:http';
import { openPartyStore, type PartyStore, type PartyStoreDirs } from '../parties/partyStore';
import { dirname, join } from 'node:path';
import { freePort } from '../temporal/devServer';
import { startRouter, startWorker, type RunningRouter, type RunningWorker, type StackConfig } from './stack';

export const DEV = {
  platform: 'platform-huixin',
  channel: 'channel-baihang',
  channels: ['channel-baihang', 'channel-pudao'],
  banks: ['bank-hangzhou', 'bank-suzhou', 'bank-ningbo', 'bank-wenzhou'],
} as const;

/** The banks that take credit reports through the platform's default channel (DEV.channel). */
export const DEV_CHANNEL_BANKS = ['bank-hangzhou', 'bank-suzhou', 'bank-ningbo'] as const;

/** The dev platform's funding list: every bank, broad rules, in this order. */
export const DEV_FUNDING_RULES: FundingRule[] = DEV.banks.map((bankId, i) => ({
  bankId, priority: i + 1, minAmount: 100_000, maxAmount: 50_000_000, terms: [3, 6, 12, 24, 36], regions: ['*'], dailyQuota: 100_000,
}));

export interface LocalNetworkOptions extends StackConfig {
  /** Every bank takes this long to decide (ms): a flow can be interrupted mid-way. */
  bankDelayMs?: number;
  /** Per-bank behaviour: an asynchronous decision after N ms, a credit policy, its terms. */
  banks?: Partial<Record<string, { asyncAfterMs?: number; policy?: (fields: Fields) => BankDecision; decisionTimeoutMs?: number; disburseAfterMs?: number }>>;
  /** Per-channel credit product policy (a test's hostile channel, say). */
  channels?: Partial<Record<string, { policy?: ChannelPolicy }>>;
  /** Where the reference parties keep their encrypted stores and, apart, their keyrings (default: beside the network directory). */
  partyStores?: PartyStoreDirs;
  /** False to run the worker elsewhere (a child process, in the crash tests). */
  inProcessWorker?: boolean;
  bundle?: WorkflowBundleWithSourceMap;
}

export interface LocalNetwork {
  cfg: LocalNetworkOptions;
  db: Db;
  router: RunningRouter;
  worker?: RunningWorker;
  channel: ReferenceChannel;
  channels: Map<string, ReferenceChannel>;
  banks: Map<string, ReferenceBank>;
  platform: ReferencePlatform;
  /** Each reference channel's and bank's own store, by party id. */
  stores: Map<string, PartyStore>;
  /** What each reference channel and bank did, as its observer saw it, by party id. */
  events: Map<string, PartyEvents>;
  close(): Promise<void>;
}

export async function startLocalNetwork(options: LocalNetworkOptions): Promise<LocalNetwork> {
  // a development network on one machine: every party is on loopback, and so are its callbacks
  const cfg: LocalNetworkOptions = { ...options, outbound: options.outbound ?? { allowPrivateNetworks: true } };
  const network = networkExists(cfg.networkDir) ? readNetworkFile(cfg.networkDir) : createDevNetwork(cfg.networkDir);
  const fileDirectory = loadDirectory(cfg.networkDir);
  const parties = () => fileDirectory;
  const db = await openDb(cfg.dbUrl);
  await registerNetwork(db, network);

  const servers: grpc.Server[] = [];
  const webServers: Server[] = [];
  const storeDirs = cfg.partyStores ?? { dataDir: join(dirname(cfg.networkDir), 'party-data'), keyDir: join(dirname(cfg.networkDir), 'party-keys') };
  const stores = new Map<string, PartyStore>();
  const events = new Map<string, PartyEvents>();
  for (const id of [...DEV.channels, ...DEV.banks]) {
    stores.set(id, await openPartyStore(storeDirs, id));
    events.set(id, new PartyEvents());
  }
  const channels = new Map<string, ReferenceChannel>();
  for (const id of DEV.channels) {
    const policy = cfg.channels?.[id]?.policy;
    const channel = new ReferenceChannel({ identity: loadPartyIdentity(cfg.networkDir, id), directory: parties, vault: stores.get(id)!.vault, observer: events.get(id)!, ...(policy ? { policy } : {}) });
    const ch = await channel.listen();
    servers.push(ch.server);
    await setPartyEndpoint(db, id, { grpc: ch.address });
    channels.set(id, channel);
  }
  await setFundingRules(db, DEV.platform, DEV_FUNDING_RULES);
  for (const id of DEV.banks) {
    const t = cfg.banks?.[id]?.decisionTimeoutMs;
    if (t !== undefined) await setBankTerms(db, id, { decisionTimeoutMs: t });
  }
  // the platform's callback origin is registered before router and workers load the registry
  const callbackPort = await freePort();
  await setPartyEndpoint(db, DEV.platform, { callbackOrigins: [`http://127.0.0.1:${callbackPort}`] });
  const router = await startRouter(cfg);
  const banks = new Map<string, ReferenceBank>();
  for (const id of DEV.banks) {
    const o = cfg.banks?.[id] ?? {};
    const bank = new ReferenceBank({
      identity: loadPartyIdentity(cfg.networkDir, id),
      directory: parties,
      vault: stores.get(id)!.vault,
      observer: events.get(id)!,
      engine: engineFor(o.policy, cfg.bankDelayMs),
      ...(o.asyncAfterMs !== undefined ? { async: { afterMs: o.asyncAfterMs } } : {}),
      ...(o.disburseAfterMs !== undefined ? { disburseAfterMs: o.disburseAfterMs } : {}),
      routerGrpc: router.grpcAddress,
      routerUrl: router.url,
    });
    const b = await bank.listen();
    servers.push(b.server);
    const h5 = await listenH5(bankH5App(bank, parties, fileDirectory.party(id)!.legalName));
    webServers.push(h5.server);
    await setPartyEndpoint(db, id, { grpc: b.address, web: h5.url });
    banks.set(id, bank);
  }
  await router.directory.refresh();
  const worker = cfg.inProcessWorker === false ? undefined : await startWorker(cfg, cfg.bundle ? { bundle: cfg.bundle } : {});
  const platform = new ReferencePlatform({ identity: loadPartyIdentity(cfg.networkDir, DEV.platform), directory: parties, routerUrl: router.url, channelId: DEV.channel });
  await platform.listenForCallbacks(callbackPort);
  return {
    cfg,
    db,
    router,
    ...(worker ? { worker } : {}),
    channel: channels.get(DEV.channel)!,
    channels,
    banks,
    platform,
    stores,
    events,
    close: async () => {
      await worker?.close();
      await router.close();
      await platform.close();
      for (const s of servers) s.forceShutdown();
      for (const w of webServers) w.close();
      for (const b of banks.values()) b.close();
      for (const st of stores.values()) await st.close();
      await db.destroy();
    },
  };
}

/** Polls the status endpoint until the application reaches one of `states` (or times out). */
export async function waitForState(platform: ReferencePlatform, applicationId: string, states: string[], timeoutMs = 30_000): Promise<{ state: string; body: Record<string, unknown> }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const res = await platform.status(applicationId);
    const body = res.body as { state?: string; history?: { state: string }[] };
    last = body.state ?? '';
    const reached = body.history?.find((h) => states.includes(h.state));
    if (reached) return { state: reached.state, body: res.body as Record<string, unknown> };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`application ${applicationId} did not reach ${states.join('|')} within ${timeoutMs} ms (last state ${last})`);
}

/** A bank's decision engine in the local network: its policy (the reference one by default), optionally slow. */
function engineFor(policy: ((fields: Fields) => BankDecision) | undefined, delayMs: number | undefined): DecisionEngine {
  const decideWith = policy ?? ((f: Fields) => decide(f));
  return {
    model: DEFAULT_BANK_MODEL,
    decide: async (fields) => {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return decideWith(fields);
    },
  };
}
