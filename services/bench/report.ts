/** 4. The results side by side, the ratios, the target, and where the time goes. */
import Table from 'cli-table3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BareRelayResult } from './bareRelay';
import type { FullStackResult } from './fullStack';
import type { SealOpenResult } from './sealOpen';
import { suiteReportLines } from './suites';
import type { Summary } from './stats';

export const TARGET = { appsPerSecond: 25, p99Ms: 2000 } as const;

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string; node: string };
  store: string;
  options: { n: number; concurrency: number; warmup: number; nodeIterations: number; forgeIterations: number };
  fullStack: FullStackResult;
  /** 1b: the full stack on a network whose platform, channels and banks are of the SM suite. */
  fullStackSm?: FullStackResult;
  bareRelay: BareRelayResult;
  sealOpen: SealOpenResult;
  ratios: {
    /** Full-stack applications/s over bare-relay applications/s. */
    fullStackOverBareThroughput: number;
    /** Full-stack p50 latency over bare-relay p50 latency. */
    fullStackOverBareP50Latency: number;
    /** node-forge ms over node:crypto ms per seal+open. */
    forgeOverNodeCrypto: number;
  };
  target: {
    appsPerSecond: number;
    p99Ms: number;
    throughputMet: boolean;
    latencyMet: boolean;
    met: boolean;
  };
}

export function judge(full: FullStackResult, bare: BareRelayResult, seal: SealOpenResult): Pick<BenchReport, 'ratios' | 'target'> {
  const throughputMet = full.failed === 0 && full.appsPerSecond >= TARGET.appsPerSecond;
  const latencyMet = full.latencyMs.p99 < TARGET.p99Ms;
  return {
    ratios: {
      fullStackOverBareThroughput: full.appsPerSecond / bare.appsPerSecond,
      fullStackOverBareP50Latency: full.latencyMs.p50 / bare.latencyMs.p50,
      forgeOverNodeCrypto: seal.forgeOverNode,
    },
    target: { ...TARGET, throughputMet, latencyMet, met: throughputMet && latencyMet },
  };
}

const out = (s = '') => process.stdout.write(s + '\n');
const ms = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) : '—');
const x = (v: number) => `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}×`;
const table = (head: string[]) => new Table({ head, style: { head: [], border: [] } });
const latencyRows = (label: string, a: Summary, b: Summary): string[][] => [
  [`${label} p50 (ms)`, ms(a.p50), ms(b.p50)],
  [`${label} p99 (ms)`, ms(a.p99), ms(b.p99)],
  [`${label} max (ms)`, ms(a.max), ms(b.max)],
];

export function printReport(r: BenchReport): void {
  const { fullStack: full, bareRelay: bare, sealOpen: seal } = r;
  out(`dzl benchmark — ${r.options.n} applications, ${r.options.concurrency} in flight (after ${r.options.warmup} warm-up) · ${r.machine.cpus} × ${r.machine.cpuModel} · node ${r.machine.node}`);
  out(`store: ${r.store}`);
  out();

  out('1–2. full stack (HTTP API → Temporal → gRPC parties → callback) vs bare relay (the same hops as plain gRPC calls)');
  const t = table(['', 'full stack', 'bare relay']);
  t.push(
    ['completed / submitted', `${full.completed}/${full.n}`, `${bare.completed}/${bare.n}`],
    ['wall time (s)', (full.wallMs / 1000).toFixed(1), (bare.wallMs / 1000).toFixed(1)],
    ['applications/s sustained', full.appsPerSecond.toFixed(1), bare.appsPerSecond.toFixed(1)],
    ...latencyRows('end-to-end', full.latencyMs, bare.latencyMs),
    ['CPU ms/app, this process', ms(full.cpu.selfMsPerApp), ms(bare.cpu.selfMsPerApp)],
    ['CPU ms/app, Temporal server', full.cpu.temporalMsPerApp !== undefined ? ms(full.cpu.temporalMsPerApp) : '—', '(idle)'],
    ['machine CPU busy', pct(full.cpu.machineBusy), pct(bare.cpu.machineBusy)],
    ['KiB written/app, this process', kib(full.cpu.selfWrittenKiBPerApp), kib(bare.cpu.selfWrittenKiBPerApp)],
    ['KiB written/app, Temporal server', kib(full.cpu.temporalWrittenKiBPerApp), '(idle)'],
  );
  out(t.toString());
  out('  end-to-end: full stack = submit → the platform has opened the decision callback; bare relay = the router takes the sealed hop → the platform has opened the decision.');
  for (const [name, res] of [['full stack', full], ['bare relay', bare]] as const) {
    if (res.failed) out(`  ${name}: ${res.failed} FAILED — ${res.errors.join(' | ')}`);
  }
  out();

  if (r.fullStackSm) {
    const sm = r.fullStackSm;
    out('1b. the full stack on an RSA network and on an SM network (platform, channels, banks SM2-SM3 / SM2-ENC / SM4-GCM; the router RSA), in the same run');
    const b = table(['', 'RSA network', 'SM network', 'SM / RSA']);
    b.push(
      ['completed / submitted', `${full.completed}/${full.n}`, `${sm.completed}/${sm.n}`, ''],
      ['applications/s sustained', full.appsPerSecond.toFixed(1), sm.appsPerSecond.toFixed(1), x(sm.appsPerSecond / full.appsPerSecond)],
      ['end-to-end p50 (ms)', ms(full.latencyMs.p50), ms(sm.latencyMs.p50), x(sm.latencyMs.p50 / full.latencyMs.p50)],
      ['end-to-end p99 (ms)', ms(full.latencyMs.p99), ms(sm.latencyMs.p99), x(sm.latencyMs.p99 / full.latencyMs.p99)],
      ['CPU ms/app, this process', ms(full.cpu.selfMsPerApp), ms(sm.cpu.selfMsPerApp), x(sm.cpu.selfMsPerApp / full.cpu.selfMsPerApp)],
    );
    out(b.toString());
    out('  where the SM network\'s time goes: 3b below times each SM2, SM3 and SM4 step of one hop alone (sm-crypto-v2, pure JavaScript) against node:crypto\'s native RSA and AES.');
    if (sm.failed) out(`  SM network: ${sm.failed} FAILED — ${sm.errors.join(' | ')}`);
    out();
  }

  out(`3. one hop's seal + open (platform → channel, a sample application's fields, RSA-${seal.rsaBits ?? '?'})`);
  const s = table(['', 'node:crypto', 'node-forge']);
  s.push(
    ['iterations', String(seal.node.iterations), String(seal.forge.iterations)],
    ['seal, mean (ms)', ms(seal.node.sealMs.mean), ms(seal.forge.sealMs.mean)],
    ['verify + open, mean (ms)', ms(seal.node.openMs.mean), ms(seal.forge.openMs.mean)],
    ['seal + open (ms)', ms(seal.node.sealOpenMs), ms(seal.forge.sealOpenMs)],
  );
  out(s.toString());
  out(`  each library opened a hop the other sealed: ${seal.interoperable ? 'yes' : 'NO'}`);
  out();
  out(`3b. the same hop in each pair of cipher suites (sender → recipient), ${seal.suites.pairs[0]?.iterations ?? 0} interleaved rounds, medians; each step timed alone`);
  for (const line of suiteReportLines(seal.suites)) out(line);
  out();

  out('4. ratios');
  out(`  full stack / bare relay, applications/s:   ${x(r.ratios.fullStackOverBareThroughput)}  (the bare relay carries ${x(1 / r.ratios.fullStackOverBareThroughput)} as many)`);
  out(`  full stack / bare relay, p50 latency:      ${x(r.ratios.fullStackOverBareP50Latency)}`);
  out(`  node-forge / node:crypto, seal + open:     ${x(r.ratios.forgeOverNodeCrypto)}`);
  out();
  out(`target: ≥ ${r.target.appsPerSecond} applications/s sustained with p99 < ${r.target.p99Ms} ms`);
  out(
    `  measured ${full.appsPerSecond.toFixed(1)} applications/s (${r.target.throughputMet ? 'met' : 'NOT met'}), p99 ${ms(full.latencyMs.p99)} ms (${r.target.latencyMet ? 'met' : 'NOT met'})` +
      ` → target ${r.target.met ? 'MET' : 'NOT MET'}`,
  );
  out();

  out(`where the time goes (full stack, per application: store's application_states.at and the platform's clock)${r.target.met ? '' : ' — target missed'}`);
  const meanTotal = full.stages.reduce((sum, st) => sum + st.ms.mean, 0);
  const b = table(['stage', 'p50 (ms)', 'p99 (ms)', 'mean (ms)', 'share']);
  for (const st of full.stages) b.push([st.stage, ms(st.ms.p50), ms(st.ms.p99), ms(st.ms.mean), pct(st.ms.mean / meanTotal)]);
  b.push(['submit → platform_notified (sum of means)', '', '', ms(meanTotal), '']);
  out(b.toString());
  out(`  the same hops without orchestration or store (bare relay): channel call p50 ${ms(bare.channelCallMs.p50)} ms, bank call p50 ${ms(bare.bankCallMs.p50)} ms`);
  out(`  router's 202 to the platform: p50 ${ms(full.intakeMs.p50)} ms, p99 ${ms(full.intakeMs.p99)} ms; the platform made ${full.statusRequestsPerApp.toFixed(1)} status requests per application`);
  out(
    `  CPU per application: ${ms(full.cpu.selfMsPerApp)} ms in this process (router, worker, parties, platform; ${full.cpu.selfCores.toFixed(2)} cores), ` +
      `${full.cpu.temporalMsPerApp !== undefined ? `${ms(full.cpu.temporalMsPerApp)} ms in the Temporal dev server (${full.cpu.temporalCores!.toFixed(2)} cores)` : 'Temporal dev server not measured'}; ` +
      `everything else ${full.cpu.otherCores?.toFixed(2) ?? '—'} cores (kernel I/O, other processes); machine ${pct(full.cpu.machineBusy)} busy on ${r.machine.cpus} cores`,
  );
}

function kib(v: number | undefined): string {
  return v === undefined ? '—' : v.toFixed(0);
}

function pct(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(0)} %`;
}

export function writeReport(r: BenchReport, file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
}
