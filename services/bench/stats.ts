/**
 * Small measuring helpers for the benchmark: a high-resolution epoch clock, percentiles, a
 * bounded-concurrency runner, and CPU accounting (this process and the Temporal dev server).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Epoch milliseconds with sub-millisecond resolution: comparable with the store's `Date.now()` columns. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarise(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : NaN;
  return { count: sorted.length, mean, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

/**
 * Runs task(0..count-1) with at most `concurrency` in flight; a task reports its own failure in
 * its result rather than throwing.
 */
export async function runPool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>, onDone?: (r: T) => void): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
      onDone?.(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** user+system CPU milliseconds a process has used so far (Linux /proc), undefined elsewhere. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state is field 3, so utime (14) and stime (15) are indexes 11 and 12
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Busy and total CPU milliseconds of the whole machine (all cores) so far, from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((s, x) => s + x, 0);
    const k = 1000 / ticksPerSecond();
    return { busy: (total - idle) * k, total: total * k };
  } catch {
    return undefined;
  }
}

/** Bytes a process has caused to be written to storage so far (Linux /proc/PID/io), undefined elsewhere. */
export function processWriteBytes(pid: number | 'self' | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /^write_bytes:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  at: number;
  self: number;
  temporal: number | undefined;
  machine: { busy: number; total: number } | undefined;
  selfWritten: number | undefined;
  temporalWritten: number | undefined;
}

export function sampleCpu(temporalPid: number | undefined): CpuSample {
  const u = process.cpuUsage();
  return {
    at: nowMs(),
    self: (u.user + u.system) / 1000,
    temporal: processCpuMs(temporalPid),
    machine: machineCpuMs(),
    selfWritten: processWriteBytes('self'),
    temporalWritten: processWriteBytes(temporalPid),
  };
}

export interface CpuUse {
  /** CPU ms per completed application in this process (router + worker + parties + platform). */
  selfMsPerApp: number;
  /** CPU ms per completed application in the Temporal dev server. */
  temporalMsPerApp?: number;
  /** Share of all cores busy during the run (0..1). */
  machineBusy?: number;
  /** Cores' worth of CPU used by each side during the run. */
  selfCores: number;
  temporalCores?: number;
  /** Cores' worth used by everything else on the machine (other processes, the kernel's I/O). */
  otherCores?: number;
  /** KiB written to storage per completed application, by this process and by the Temporal dev server. */
  selfWrittenKiBPerApp?: number;
  temporalWrittenKiBPerApp?: number;
}

export function cpuBetween(a: CpuSample, b: CpuSample, completed: number): CpuUse {
  const wall = b.at - a.at;
  const per = (x: number) => x / Math.max(1, completed);
  const temporal = a.temporal !== undefined && b.temporal !== undefined ? b.temporal - a.temporal : undefined;
  const selfCores = (b.self - a.self) / wall;
  const machineCores = a.machine && b.machine ? (b.machine.busy - a.machine.busy) / wall : undefined;
  return {
    selfMsPerApp: per(b.self - a.self),
    selfCores,
    ...(temporal !== undefined ? { temporalMsPerApp: per(temporal), temporalCores: temporal / wall } : {}),
    ...(a.machine && b.machine ? { machineBusy: (b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total) } : {}),
    ...(machineCores !== undefined ? { otherCores: Math.max(0, machineCores - selfCores - (temporal ?? 0) / wall) } : {}),
    ...(a.selfWritten !== undefined && b.selfWritten !== undefined ? { selfWrittenKiBPerApp: per(b.selfWritten - a.selfWritten) / 1024 } : {}),
    ...(a.temporalWritten !== undefined && b.temporalWritten !== undefined ? { temporalWrittenKiBPerApp: per(b.temporalWritten - a.temporalWritten) / 1024 } : {}),
  };
}

/** What every throughput run reports: counts, distinct errors, wall time, rate and latency. */
export interface RunSummary {
  n: number;
  concurrency: number;
  completed: number;
  failed: number;
  errors: string[];
  wallMs: number;
  appsPerSecond: number;
  latencyMs: Summary;
}

export function runSummary<R extends { ok: boolean; error?: string }>(
  opts: { n: number; concurrency: number },
  runs: R[],
  wallMs: number,
  latency: (r: R) => number,
): { ok: R[]; summary: RunSummary } {
  const ok = runs.filter((r) => r.ok);
  return {
    ok,
    summary: {
      n: opts.n,
      concurrency: opts.concurrency,
      completed: ok.length,
      failed: runs.length - ok.length,
      errors: [...new Set(runs.filter((r) => !r.ok).map((r) => r.error ?? '?'))].slice(0, 5),
      wallMs,
      appsPerSecond: (ok.length * 1000) / wallMs,
      latencyMs: summarise(ok.map(latency)),
    },
  };
}
