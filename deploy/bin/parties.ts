/**
 * The cluster's reference parties as processes of their own (contracts/parties.md): for each of
 * the development network's channels, banks and platforms, a configuration file naming its
 * folder (the network's parties/<id>, which `dzl network init` builds with the onboarding
 * steps), its ports and its plug-in; and, through the operator facade, its registered endpoints,
 * a bank's terms and the platforms' funding list. deploy/cluster.sh then starts one
 * `dzl channel|bank|platform --config …` per line this prints.
 *
 *   node dist/deploy/bin/parties.js configure     write the configurations, register, print "role id config"
 *
 * Ports (DZL_PARTIES_PORT_BASE, default 17300): channels +0…, banks' gRPC +2…, banks' pages +6…,
 * the platforms' callbacks +10…, their own APIs +12…, every party's ops endpoint +20….
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readNetworkFile } from '../../services/network/folder';
import { setBankTerms, setPartyEndpoint } from '../../services/operator/registry';
import { DEV, DEV_FUNDING_RULES } from '../../services/runtime/localNetwork';
import { openDb } from '../../services/store/db';
import { setFundingRules } from '../../services/store/fundingRoutes';

/** The second platform submits through the second router: two platforms, one per router. */
export const CLUSTER_PLATFORMS = [DEV.platform, 'platform-jinhe'] as const;

export interface ClusterPartyPlan {
  id: string;
  role: 'channel' | 'bank' | 'platform';
  config: string;
  /** The platform's own API (contracts/parties.md §3), for a platform. */
  api?: string;
}

export interface ClusterPartiesOptions {
  dbUrl: string;
  networkDir: string;
  runDir: string;
  portBase: number;
  /** The routers' HTTP base URLs: platform i submits through router i (modulo their number). */
  routerUrls: string[];
  /** Banks that answer later, through the router's gRPC (RouterService.SubmitDecision). */
  asyncBanks: Record<string, number>;
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

/** Where each party listens, from the port base: the same numbers every time. */
export function clusterPartyPlan(o: ClusterPartiesOptions): ClusterPartyPlan[] {
  const dir = resolve(o.runDir, 'parties');
  const plan: ClusterPartyPlan[] = [];
  DEV.channels.forEach((id) => plan.push({ id, role: 'channel', config: join(dir, `${id}.json`) }));
  DEV.banks.forEach((id) => plan.push({ id, role: 'bank', config: join(dir, `${id}.json`) }));
  CLUSTER_PLATFORMS.forEach((id, i) => plan.push({ id, role: 'platform', config: join(dir, `${id}.json`), api: `http://127.0.0.1:${o.portBase + 12 + i}` }));
  return plan;
}

export async function configureClusterParties(o: ClusterPartiesOptions): Promise<ClusterPartyPlan[]> {
  const network = resolve(o.networkDir);
  const dir = resolve(o.runDir, 'parties');
  mkdirSync(dir, { recursive: true });
  const known = new Set(readNetworkFile(network).parties.map((p) => p.id));
  const plan = clusterPartyPlan(o);
  const db = await openDb(o.dbUrl, { migrate: false });
  const engine = resolve(__dirname, '..', 'plugins', 'cautiousEngine.js');
  try {
    let ops = o.portBase + 20;
    for (const p of plan) {
      if (!known.has(p.id)) throw new Error(`${p.id} is not a party of the network in ${network}`);
      const common = {
        role: p.role,
        folder: join(network, 'parties', p.id),
        routerUrl: o.routerUrls[0],
        store: { dataDir: join(resolve(o.runDir), 'party-data'), keyDir: join(resolve(o.runDir), 'party-keys') },
        log: { file: join(resolve(o.runDir), 'logs', `party-${p.id}.json.log`) },
      };
      let config: Record<string, unknown>;
      if (p.role === 'channel') {
        const grpc = `127.0.0.1:${o.portBase + DEV.channels.indexOf(p.id as (typeof DEV.channels)[number])}`;
        await setPartyEndpoint(db, p.id, { grpc });
        config = { ...common, listen: { grpc, ops: `127.0.0.1:${ops++}` } };
      } else if (p.role === 'bank') {
        const i = DEV.banks.indexOf(p.id as (typeof DEV.banks)[number]);
        const grpc = `127.0.0.1:${o.portBase + 2 + i}`;
        const web = `127.0.0.1:${o.portBase + 6 + i}`;
        await setPartyEndpoint(db, p.id, { grpc, web: `http://${web}/h5/apply` });
        const asyncAfterMs = o.asyncBanks[p.id];
        if (asyncAfterMs !== undefined) await setBankTerms(db, p.id, { decisionTimeoutMs: 60_000 });
        config = {
          ...common,
          listen: { grpc, web, ops: `127.0.0.1:${ops++}` },
          // bank-hangzhou's own engine declines loans above ¥100,000, so a large one cascades
          bank: { ...(i === 0 ? { engine: { module: engine, options: { maxAmount: 10_000_000 } } } : {}), ...(asyncAfterMs !== undefined ? { asyncAfterMs } : {}) },
        };
      } else {
        const i = CLUSTER_PLATFORMS.indexOf(p.id as (typeof CLUSTER_PLATFORMS)[number]);
        const callback = `127.0.0.1:${o.portBase + 10 + i}`;
        await setPartyEndpoint(db, p.id, { callbackOrigins: [`http://${callback}`] });
        await setFundingRules(db, p.id, DEV_FUNDING_RULES);
        config = { ...common, routerUrl: o.routerUrls[i % o.routerUrls.length], listen: { callback, api: p.api!.replace('http://', ''), ops: `127.0.0.1:${ops++}` }, platform: { channel: DEV.channel } };
      }
      writeFileSync(p.config, JSON.stringify(config, null, 2));
    }
  } finally {
    await db.destroy();
  }
  return plan;
}

if (require.main === module) {
  if (process.argv[2] !== 'configure') {
    process.stderr.write('usage: parties.js configure\n');
    process.exit(2);
  }
  configureClusterParties(clusterPartiesFromEnv())
    .then((plan) => {
      for (const p of plan) process.stdout.write(`${p.role} ${p.id} ${p.config}\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`parties: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
