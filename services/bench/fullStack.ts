/**
 * 1. Full stack: the reference platform seals applications and submits them to the router's
 * HTTP API with `concurrency` in flight; each is followed until the platform has the bank's
 * decision on its callback and the router reports `platform_notified`. Then the evidence in the
 * store (application_states.at) says how long each stage took.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { syntheticCustomer } from '../parties/samples';
import type { ReferencePlatform } from '../parties/platform';
import { DEV_CHANNEL_BANKS, type LocalNetwork } from '../runtime/localNetwork';
import { statesOf, type StateChange } from '../store/applicationStates';
import { progressBar } from './progress';
import { cpuBetween, nowMs, runPool, runSummary, sampleCpu, summarise, type CpuUse, type RunSummary, type Summary } from './stats';

export interface FullStackOptions {
  n: number;
  concurrency: number;
  warmup: number;
  /** The Temporal dev server's pid, to account its CPU. */
  temporalPid?: number;
  /** Give up on one application after this long (it then counts as failed). */
  timeoutMs?: number;
}

interface AppRun {
  applicationId: string;
  ok: boolean;
  error?: string;
  submittedAt: number;
  /** The router's 202 arrived. */
  answeredAt?: number;
  /** The platform's callback server had opened the decision. */
  callbackAt?: number;
  /** The status endpoint first showed platform_notified. */
  notifiedSeenAt?: number;
}

export interface StageTiming {
  stage: string;
  ms: Summary;
}

export interface FullStackResult extends RunSummary {
  /** Submit → the platform receives the decision callback. */
  latencyMs: Summary;
  /** Submit → the router's 202. */
  intakeMs: Summary;
  /** Consecutive stages from the store's state history; their means add up to submit → platform_notified. */
  stages: StageTiming[];
  cpu: CpuUse;
  /** Status-endpoint requests per measured application (following it to platform_notified). */
  statusRequestsPerApp: number;
}

/**
 * Tells when the platform's callback handler records a decision: it wraps the `set` of the
 * platform's `decisions` map (the one place a received decision lands).
 */
class DecisionWatcher {
  private readonly waiting = new Map<string, (at: number) => void>();
  private readonly early = new Map<string, number>();

  constructor(platform: ReferencePlatform) {
    const decisions = platform.decisions;
    const set = decisions.set.bind(decisions);
    decisions.set = (id, decision) => {
      const at = nowMs();
      set(id, decision);
      const resolve = this.waiting.get(id);
      if (resolve) {
        this.waiting.delete(id);
        resolve(at);
      } else {
        this.early.set(id, at);
      }
      return decisions;
    };
  }

  arrival(applicationId: string): Promise<number> {
    const at = this.early.get(applicationId);
    if (at !== undefined) {
      this.early.delete(applicationId);
      return Promise.resolve(at);
    }
    return new Promise((resolve) => this.waiting.set(applicationId, resolve));
  }

  forget(applicationId: string): void {
    this.waiting.delete(applicationId);
    this.early.delete(applicationId);
  }
}

/** Status requests the benchmark's platform made (they cost the router, and the platform a signature each). */
let statusRequests = 0;

async function stateOf(platform: ReferencePlatform, applicationId: string): Promise<{ state?: string; reason?: string }> {
  statusRequests++;
  const res = await platform.status(applicationId);
  const body = (res.body ?? {}) as { state?: string; history?: { state: string; reasonCode?: string }[] };
  return { ...(body.state ? { state: body.state } : {}), ...(body.history?.at(-1)?.reasonCode ? { reason: body.history.at(-1)!.reasonCode! } : {}) };
}

/** Waits for the decision callback; every 2 s it asks the status endpoint whether the application was refused. */
async function untilDecided(platform: ReferencePlatform, applicationId: string, decided: Promise<number>, deadline: number): Promise<number> {
  for (;;) {
    const at = await Promise.race([decided, sleep(2000, undefined)]);
    if (at !== undefined) return at;
    const s = await stateOf(platform, applicationId);
    if (s.state === 'refused') throw new Error(`refused (${s.reason ?? 'no reason'})`);
    if (nowMs() > deadline) throw new Error(`no decision callback in time (state ${s.state ?? '?'})`);
  }
}

/** The receipt is recorded and `platform_notified` written just after the callback answers. */
async function untilNotified(platform: ReferencePlatform, applicationId: string, deadline: number): Promise<number> {
  for (let wait = 20; ; wait = 50) {
    await sleep(wait);
    const s = await stateOf(platform, applicationId);
    if (s.state === 'platform_notified') return nowMs();
    if (s.state === 'refused') throw new Error(`refused after the decision (${s.reason ?? 'no reason'})`);
    if (nowMs() > deadline) throw new Error(`not platform_notified in time (state ${s.state ?? '?'})`);
  }
}

async function followOne(net: LocalNetwork, watcher: DecisionWatcher, i: number, timeoutMs: number): Promise<AppRun> {
  const bank = DEV_CHANNEL_BANKS[i % DEV_CHANNEL_BANKS.length]!;
  const app = net.platform.prepare(syntheticCustomer(i).fields, bank);
  const run: AppRun = { applicationId: app.applicationId, ok: false, submittedAt: nowMs() };
  const decided = watcher.arrival(app.applicationId);
  const deadline = run.submittedAt + timeoutMs;
  try {
    const res = await net.platform.submit(app);
    run.answeredAt = nowMs();
    if (res.status !== 202) throw new Error(`submission answered HTTP ${res.status} ${(res.body as { error?: { code?: string } })?.error?.code ?? ''}`);
    run.callbackAt = await untilDecided(net.platform, app.applicationId, decided, deadline);
    run.notifiedSeenAt = await untilNotified(net.platform, app.applicationId, deadline);
    run.ok = true;
  } catch (err) {
    watcher.forget(app.applicationId);
    run.error = err instanceof Error ? err.message : String(err);
  }
  return run;
}

/** Serial stages of one application, from the store's history (ms epoch) and the platform's own clock. */
function stagesOf(run: AppRun, history: StateChange[]): Record<string, number> | undefined {
  const at = (...states: string[]) => history.find((h) => states.includes(h.state))?.at;
  const accepted = at('accepted');
  const sealed = at('credit_report_sealed');
  const decided = at('approved', 'declined');
  const notified = at('platform_notified');
  if (accepted === undefined || sealed === undefined || decided === undefined || notified === undefined || run.callbackAt === undefined) return undefined;
  return {
    'submit → accepted (HTTP intake: verify, custody, store)': accepted - run.submittedAt,
    'accepted → credit_report_sealed (to channel)': sealed - accepted,
    'credit_report_sealed → approved/declined (to bank)': decided - sealed,
    'decided → platform opened decision callback': run.callbackAt - decided,
    'callback → platform_notified (receipt recorded)': notified - run.callbackAt,
  };
}

async function stageTimings(net: LocalNetwork, runs: AppRun[]): Promise<StageTiming[]> {
  const byStage = new Map<string, number[]>();
  for (const run of runs.filter((r) => r.ok)) {
    const stages = stagesOf(run, await statesOf(net.db, run.applicationId));
    for (const [stage, ms] of Object.entries(stages ?? {})) {
      if (!byStage.has(stage)) byStage.set(stage, []);
      byStage.get(stage)!.push(ms);
    }
  }
  return [...byStage].map(([stage, ms]) => ({ stage, ms: summarise(ms) }));
}

export async function runFullStack(net: LocalNetwork, opts: FullStackOptions): Promise<FullStackResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const watcher = new DecisionWatcher(net.platform);

  if (opts.warmup > 0) {
    process.stderr.write(`full stack: warming up with ${opts.warmup} applications (not measured) …\n`);
    const warm = await runPool(opts.warmup, opts.concurrency, (i) => followOne(net, watcher, 1_000_000 + i, timeoutMs));
    const bad = warm.filter((r) => !r.ok);
    if (bad.length) process.stderr.write(`full stack: ${bad.length} warm-up applications failed, e.g. ${bad[0]!.error}\n`);
  }

  const bar = progressBar('full stack', opts.n);
  const cpu0 = sampleCpu(opts.temporalPid);
  const requests0 = statusRequests;
  const runs = await runPool(opts.n, opts.concurrency, (i) => followOne(net, watcher, i, timeoutMs), () => bar.tick());
  const cpu1 = sampleCpu(opts.temporalPid);
  bar.stop();
  const since = (at: number) => ((at - performance.timeOrigin) / 1000).toFixed(0);
  process.stderr.write(`full stack: measured from ${since(cpu0.at)} s to ${since(cpu1.at)} s after the process started (profileSummary --window ${since(cpu0.at)}-${since(cpu1.at)})\n`);

  const wallMs = cpu1.at - cpu0.at;
  const { ok, summary } = runSummary(opts, runs, wallMs, (r) => r.callbackAt! - r.submittedAt);
  return {
    ...summary,
    intakeMs: summarise(ok.map((r) => r.answeredAt! - r.submittedAt)),
    stages: await stageTimings(net, runs),
    cpu: cpuBetween(cpu0, cpu1, ok.length),
    statusRequestsPerApp: (statusRequests - requests0) / opts.n,
  };
}
