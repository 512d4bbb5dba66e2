/**
 * `node dist/services/bench/bench.js [--n N] [--concurrency C]`: one run, measured side by side.
 *
 *   1. full stack   N applications through the router's HTTP API, Temporal, the gRPC parties and
 *                   the platform's callback, C in flight: applications/s and latency
 *   2. bare relay   the same hops with the same sealing as plain gRPC calls: no Temporal, no store
 *   1b. SM network  the full stack again on a network whose platform, channels and banks are of
 *                   the SM suite (SM2-SM3, SM2-ENC, SM4-GCM; the router stays RSA), side by side
 *   3. seal + open  one hop with node:crypto against the same operations in node-forge
 *   4. ratios, the target (≥ 25 applications/s with p99 < 2 s), and where the time goes
 *
 * Everything runs on loopback in a fresh temporary directory (network, SQLite store, Temporal
 * dev server); DZL_DB_URL=mysql://… puts the store in a fresh database on that server instead.
 * Results go to stdout and to .dzl/bench/bench-results.json; progress goes to stderr.
 * Nothing here asserts a timing.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDevNetwork, DEV_PARTIES } from '../network/folder';
import { startLocalNetwork } from '../runtime/localNetwork';
import { startDevServer } from '../temporal/devServer';
import { runBareRelay } from './bareRelay';
import { runFullStack } from './fullStack';
import { judge, printReport, writeReport, type BenchReport } from './report';
import { runSealOpen } from './sealOpen';
import { benchStore } from './store';

const USAGE = `usage: node dist/services/bench/bench.js [--n N] [--concurrency C] [--warmup W] [--node-iterations I] [--forge-iterations J] [--keep]
  --n                 applications in the full-stack and bare-relay runs (default 1500)
  --concurrency       applications in flight (default 32)
  --warmup            unmeasured applications before each run (default: the concurrency)
  --node-iterations   node:crypto seal+open iterations (default 200)
  --forge-iterations  node-forge seal+open iterations (default 30)
  --sm-n              applications in the full-stack run on the SM network (default: --n; 0 skips it)
  --keep              keep the temporary directory (and a MySQL database) for inspection
`;

function options() {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '1500' },
      concurrency: { type: 'string', default: '32' },
      warmup: { type: 'string' },
      'node-iterations': { type: 'string', default: '200' },
      'forge-iterations': { type: 'string', default: '30' },
      'sm-n': { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}\n${USAGE}`);
    return n;
  };
  const concurrency = int('concurrency', values.concurrency, 1);
  return {
    n: int('n', values.n, 1),
    concurrency,
    warmup: int('warmup', values.warmup ?? String(concurrency), 0),
    nodeIterations: int('node-iterations', values['node-iterations'], 1),
    forgeIterations: int('forge-iterations', values['forge-iterations'], 1),
    smN: int('sm-n', values['sm-n'] ?? values.n, 0),
    keep: values.keep,
  };
}

async function main(): Promise<void> {
  const opts = options();
  const startedAt = new Date().toISOString();
  const dir = mkdtempSync(join(tmpdir(), 'dzl-bench-'));
  const networkDir = join(dir, 'network');
  const store = await benchStore(dir, opts.keep);
  const resultsFile = resolve(process.env.DZL_HOME ?? '.dzl', 'bench', 'bench-results.json');

  process.stderr.write(`dzl bench: working in ${dir}\n  starting the Temporal dev server, creating the network, bundling workflows …\n`);
  const temporal = await startDevServer(dir);
  let full, bare;
  let fullSm: Awaited<ReturnType<typeof runFullStack>> | undefined;
  let smStore: Awaited<ReturnType<typeof benchStore>> | undefined;
  try {
    const net = await startLocalNetwork({ dbUrl: store.url, networkDir, temporalAddress: temporal.address, logFile: join(dir, 'dzl.log') });
    try {
      full = await runFullStack(net, { n: opts.n, concurrency: opts.concurrency, warmup: opts.warmup, ...(temporal.process.pid ? { temporalPid: temporal.process.pid } : {}) });
      bare = await runBareRelay(net, { n: opts.n, concurrency: opts.concurrency, warmup: opts.warmup, networkDir });
    } finally {
      await net.close();
    }
    // 1b. the same load on a network of SM parties: a store and a network of its own, the same dev server
    if (opts.smN > 0) {
      const smDir = join(dir, 'sm');
      mkdirSync(smDir, { recursive: true });
      createDevNetwork(join(smDir, 'network'), DEV_PARTIES.map((p) => (p.role === 'router' || p.role === 'regulator' ? p : { ...p, suite: 'SM' as const })));
      smStore = await benchStore(smDir, opts.keep);
      process.stderr.write(`full stack on the SM network: ${opts.smN} applications …\n`);
      const smNet = await startLocalNetwork({ dbUrl: smStore.url, networkDir: join(smDir, 'network'), temporalAddress: temporal.address, logFile: join(smDir, 'dzl.log') });
      try {
        fullSm = await runFullStack(smNet, { n: opts.smN, concurrency: opts.concurrency, warmup: opts.warmup, ...(temporal.process.pid ? { temporalPid: temporal.process.pid } : {}) });
      } finally {
        await smNet.close();
      }
    }
  } finally {
    await temporal.stop();
  }

  process.stderr.write(`seal + open: ${opts.nodeIterations} × node:crypto, ${opts.forgeIterations} × node-forge …\n`);
  const seal = runSealOpen(networkDir, { nodeIterations: opts.nodeIterations, forgeIterations: opts.forgeIterations });

  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? '?', node: process.version },
    store: store.label,
    options: { n: opts.n, concurrency: opts.concurrency, warmup: opts.warmup, nodeIterations: opts.nodeIterations, forgeIterations: opts.forgeIterations },
    fullStack: full,
    ...(fullSm ? { fullStackSm: fullSm } : {}),
    bareRelay: bare,
    sealOpen: seal,
    ...judge(full, bare, seal),
  };
  printReport(report);
  writeReport(report, resultsFile);
  process.stdout.write(`\nresults: ${resultsFile}\n`);

  await store.drop();
  await smStore?.drop();
  if (opts.keep) process.stdout.write(`kept: ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
  if (full.failed > 0 || bare.failed > 0 || (fullSm?.failed ?? 0) > 0 || !seal.interoperable) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
