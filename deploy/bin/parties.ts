/**
 * The reference parties for a cluster, in one helper process: the two channels and four banks
 * behind mutual-TLS gRPC (each with its encrypted store), each bank's H5 page, and the platform
 * with its callback endpoint — the wiring of startLocalNetwork without its router and worker,
 * pointed at the cluster's routers through the registry they publish themselves in.
 * Parties as processes of their own are another issue; this is what the smoke test needs.
 *
 *   node dist/deploy/bin/parties.js      run them until SIGTERM (environment: deploy/cluster.env)
 */
import type * as grpc from '@grpc/grpc-js';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { decide, ReferenceBank, type BankDecision } from '../../services/parties/bank';
import { bankH5App, listenH5 } from '../../services/parties/bankH5';
import { ReferenceChannel } from '../../services/parties/channel';
import { DEFAULT_BANK_MODEL } from '../../services/parties/plugins';
import { openPartyStore, type PartyStore } from '../../services/parties/partyStore';
import { ReferencePlatform } from '../../services/parties/platform';
import { loadDirectory, loadPartyIdentity, readNetworkFile } from '../../services/network/folder';
import { DEV, DEV_FUNDING_RULES } from '../../services/runtime/localNetwork';
import type { Fields } from '../../services/seal/hop';
import { openDb, type Db } from '../../services/store/db';
import { setBankTerms, setPartyEndpoint } from '../../services/operator/registry';
import { setFundingRules } from '../../services/store/fundingRoutes';
import { loadDirectoryFromDb } from '../../services/store/parties';

export interface ClusterPartiesOptions {
  dbUrl: string;
  networkDir: string;
  /** Where the parties' encrypted stores and, apart, their keyrings live. */
  runDir: string;
  /** Channels on base, base+1; banks on base+2…; the platforms' callbacks on base+10…. */
  portBase: number;
  /** The routers' HTTP base URLs: one reference platform submits through each. */
  routerUrls: string[];
  /** Banks that answer later, through the router's gRPC (RouterService.SubmitDecision). */
  asyncBanks?: Record<string, number>;
}

export interface ClusterParties {
  db: Db;
  /** One platform per router, all the same party (platform-huixin). */
  platforms: ReferencePlatform[];
  /** The router's endpoints as the registry publishes them (what the banks were pointed at). */
  router: { grpc: string; url: string };
  close(): Promise<void>;
}

/** bank-hangzhou declines loans above ¥100,000 (as in the demo), so a large one cascades. */
export const cautious = (f: Fields): BankDecision =>
  Number(f['loan.amount']) > 10_000_000
    ? { outcome: { status: 'declined', reasonCode: 'AMOUNT_ABOVE_APPETITE' }, fields: { 'decision.status': 'declined', 'decision.reasonCode': 'AMOUNT_ABOVE_APPETITE' } }
    : decide(f);

/** The registry's refresh period in routers and workers (services/registry/handle.ts). */
const REGISTRY_REFRESH_MS = 5000;

export async function startClusterParties(o: ClusterPartiesOptions): Promise<ClusterParties> {
  const { caPem } = readNetworkFile(o.networkDir);
  const fileDirectory = loadDirectory(o.networkDir);
  const parties = () => fileDirectory;
  const db = await openDb(o.dbUrl, { migrate: false });
  const published = (await loadDirectoryFromDb(db, caPem)).party('router');
  if (!published?.grpcEndpoint || !published.webUrl) throw new Error('no router has published its endpoints in the registry: is the cluster up (make cluster-up)?');
  const router = { grpc: published.grpcEndpoint, url: published.webUrl };

  const grpcServers: grpc.Server[] = [];
  const webServers: Server[] = [];
  const stores: PartyStore[] = [];
  const banks: ReferenceBank[] = [];
  const storeDirs = { dataDir: join(o.runDir, 'party-data'), keyDir: join(o.runDir, 'party-keys') };
  let port = o.portBase;
  for (const id of DEV.channels) {
    const store = await openPartyStore(storeDirs, id);
    stores.push(store);
    const ch = await new ReferenceChannel({ identity: loadPartyIdentity(o.networkDir, id), directory: parties, vault: store.vault }).listen(`127.0.0.1:${port++}`);
    grpcServers.push(ch.server);
    await setPartyEndpoint(db, id, { grpc: ch.address });
  }
  await setFundingRules(db, DEV.platform, DEV_FUNDING_RULES);
  for (const id of DEV.banks) {
    const store = await openPartyStore(storeDirs, id);
    stores.push(store);
    const asyncAfterMs = o.asyncBanks?.[id];
    if (asyncAfterMs !== undefined) await setBankTerms(db, id, { decisionTimeoutMs: 60_000 });
    const bank = new ReferenceBank({
      identity: loadPartyIdentity(o.networkDir, id),
      directory: parties,
      vault: store.vault,
      ...(id === DEV.banks[0] ? { engine: { model: DEFAULT_BANK_MODEL, decide: cautious } } : {}),
      ...(asyncAfterMs !== undefined ? { async: { afterMs: asyncAfterMs } } : {}),
      routerGrpc: router.grpc,
      routerUrl: router.url,
    });
    const b = await bank.listen(`127.0.0.1:${port++}`);
    grpcServers.push(b.server);
    banks.push(bank);
    const h5 = await listenH5(bankH5App(bank, parties, fileDirectory.party(id)!.legalName));
    webServers.push(h5.server);
    await setPartyEndpoint(db, id, { grpc: b.address, web: h5.url });
  }
  const platforms: ReferencePlatform[] = [];
  // the router calls back only at origins the platform registered
  await setPartyEndpoint(db, DEV.platform, { callbackOrigins: o.routerUrls.map((_, i) => `http://127.0.0.1:${o.portBase + 10 + i}`) });
  for (const [i, routerUrl] of o.routerUrls.entries()) {
    const platform = new ReferencePlatform({ identity: loadPartyIdentity(o.networkDir, DEV.platform), directory: parties, routerUrl, channelId: DEV.channel });
    await platform.listenForCallbacks(o.portBase + 10 + i);
    platforms.push(platform);
  }
  // the routers and workers reload the registry on a timer: wait until they see the new endpoints
  await new Promise((r) => setTimeout(r, REGISTRY_REFRESH_MS + 1000));
  return {
    db,
    platforms,
    router,
    close: async () => {
      for (const p of platforms) await p.close();
      for (const s of grpcServers) s.forceShutdown();
      for (const w of webServers) w.close();
      for (const b of banks) b.close();
      for (const s of stores) await s.close();
      await db.destroy();
    },
  };
}

export function clusterPartiesFromEnv(): ClusterPartiesOptions {
  const env = (name: string, fallback: string) => process.env[name] || fallback;
  const runDir = env('DZL_CLUSTER_DIR', '.dzl/cluster');
  const routers = Number(env('DZL_ROUTERS', '2'));
  const host = env('DZL_ROUTER_HOST', '127.0.0.1');
  const httpBase = Number(env('DZL_ROUTER_HTTP_BASE', '17080'));
  return {
    dbUrl: env('DZL_DB_URL', 'mysql://root@127.0.0.1:3306/dzl_cluster'),
    networkDir: env('DZL_NETWORK_DIR', join(runDir, 'network')),
    runDir,
    portBase: Number(env('DZL_PARTIES_PORT_BASE', '17300')),
    routerUrls: Array.from({ length: routers }, (_, i) => `http://${host}:${httpBase + i}`),
    // bank-ningbo decides asynchronously, through the router's published gRPC endpoint
    asyncBanks: { [DEV.banks[2]]: 1500 },
  };
}

if (require.main === module) {
  startClusterParties(clusterPartiesFromEnv())
    .then((p) => {
      process.stderr.write(`dzl parties running; banks call the router at ${p.router.grpc}; platform callbacks: ${p.platforms.map((x) => x.callbackUrl).join(' ')}\n`);
      const stop = () => void p.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    })
    .catch((err: unknown) => {
      process.stderr.write(`dzl parties: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
