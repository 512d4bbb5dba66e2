/**
 * `make cluster-load` (deploy/cluster.sh load): the load test (issue 14, item 6) against the
 * running cluster, with vegeta (an open-model load tool: requests leave at the set rate whatever
 * the answers' latency, so a slow system cannot slow its own load down). Each request is one new
 * data-channel application through a platform process's own API (POST /applications: the
 * platform seals and signs it and submits it to its router), the two platforms in turn.
 *
 * Phases: a constant arrival rate; a ramp in steps to saturation; a soak (`--soak-s`, at least
 * 600 for the figures in the README). For each: vegeta's figures for the platform's submission
 * (throughput, latency percentiles, errors), the applications' own end to end (from the router's
 * intake to the final outcome, read from the store), and each process's CPU and peak memory.
 *
 *   node dist/deploy/bin/load.js --label "2 routers, 2 workers" --out F.json [--rate 4] [--constant-s 60]
 *        [--ramp 2,4,6,8,10,12] [--step-s 30] [--soak-s 0] [--soak-rate 4]
 *   node dist/deploy/bin/load.js --compare A.json B.json      the two runs side by side, and the scale-out factor
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FINAL_OUTCOMES } from '../../services/domain/applications';
import { syntheticCustomer } from '../../services/parties/samples';
import { DEV } from '../../services/runtime/localNetwork';
import { openDb, type Db } from '../../services/store/db';
import { clusterPartiesFromEnv, clusterPartyPlan } from './parties';

const say = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROOT = resolve(__dirname, '..', '..', '..');
const VEGETA = process.env.DZL_VEGETA ?? join(ROOT, '.tools', 'bin', 'vegeta');
const CLK_TCK = 100;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

// ---------------------------------------------------------------- processes and their resources

interface Sample {
  cpuS: number;
  rssMiB: number;
}

/** The cluster's processes by name (its pid files), and the two databases by program name. */
function processes(): Map<string, number[]> {
  const dir = resolve(process.env.DZL_CLUSTER_DIR ?? join(ROOT, '.dzl', 'cluster'), 'pids');
  const out = new Map<string, number[]>();
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    if (!f.endsWith('.pid')) continue;
    const pid = Number(readFileSync(join(dir, f), 'utf8').trim());
    if (pid > 0 && existsSync(`/proc/${pid}`)) out.set(f.slice(0, -4), [pid]);
  }
  for (const [name, prog] of [['mariadb', 'mariadbd'], ['postgresql', 'postgres']] as const) {
    const r = spawnSync('pidof', [prog], { encoding: 'utf8' });
    if (r.status === 0) out.set(name, r.stdout.split(/\s+/).filter(Boolean).map(Number));
  }
  return out;
}

function sample(pids: number[]): Sample {
  let cpuS = 0;
  let rssMiB = 0;
  for (const pid of pids) {
    try {
      // utime and stime, and the reaped children's (PostgreSQL's backends come and go)
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuS += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
      // PSS: shared pages divided among the processes sharing them (PostgreSQL's shared buffers once)
      const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      rssMiB += pss ? Number(pss[1]) / 1024 : 0;
    } catch {
      // gone meanwhile
    }
  }
  return { cpuS, rssMiB };
}

/** The machine's busy and total jiffies (/proc/stat), for how much of every core a phase used. */
function machineJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/** CPU (% of one core) and peak memory (PSS) per process over a phase, sampled every second. */
class Meter {
  private readonly start = new Map<string, Sample>();
  private readonly peak = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private t0 = 0;
  private j0 = machineJiffies();

  begin(): void {
    this.t0 = Date.now();
    this.j0 = machineJiffies();
    for (const [name, pids] of processes()) this.start.set(name, sample(pids));
    this.timer = setInterval(() => {
      for (const [name, pids] of processes()) this.peak.set(name, Math.max(this.peak.get(name) ?? 0, sample(pids).rssMiB));
    }, 1000);
  }

  end(): Record<string, { cpuPct: number; peakRssMiB: number }> {
    clearInterval(this.timer);
    const s = (Date.now() - this.t0) / 1000;
    const out: Record<string, { cpuPct: number; peakRssMiB: number }> = {};
    for (const [name, pids] of processes()) {
      const a = this.start.get(name);
      const b = sample(pids);
      if (!a) continue;
      out[name] = { cpuPct: Math.round((100 * (b.cpuS - a.cpuS)) / s), peakRssMiB: Math.round(Math.max(this.peak.get(name) ?? 0, b.rssMiB)) };
    }
    const j = machineJiffies();
    // the whole machine, every core: 100% is all of them busy
    out['(machine, all cores)'] = { cpuPct: Math.round((100 * (j.busy - this.j0.busy)) / (j.total - this.j0.total)), peakRssMiB: 0 };
    return out;
  }
}

// ---------------------------------------------------------------- vegeta

interface VegetaReport {
  requests: number;
  rate: number;
  throughput: number;
  success: number;
  latencies: { '50th': number; '95th': number; '99th': number; max: number };
  status_codes: Record<string, number>;
  errors: string[] | null;
}

function targets(apis: string[]): string {
  const lines: string[] = [];
  for (let i = 0; i < 64; i++) {
    const body = JSON.stringify({ fields: syntheticCustomer(i).fields, route: { bank: DEV.banks[1] } });
    lines.push(JSON.stringify({ method: 'POST', url: `${apis[i % apis.length]}/applications`, body: Buffer.from(body).toString('base64'), header: { 'Content-Type': ['application/json'] } }));
  }
  return lines.join('\n') + '\n';
}

/** One vegeta attack at `rate`/s for `seconds`, reported as JSON. */
function attack(targetFile: string, rate: number, seconds: number): Promise<VegetaReport> {
  return new Promise((resolveAttack, reject) => {
    const a = spawn(VEGETA, ['attack', '-format=json', `-targets=${targetFile}`, `-rate=${rate}/1s`, `-duration=${seconds}s`, '-timeout=60s', '-keepalive=true'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const r = spawn(VEGETA, ['report', '-type=json'], { stdio: ['pipe', 'pipe', 'inherit'] });
    a.stdout.pipe(r.stdin);
    let out = '';
    r.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    r.once('exit', (code) => (code === 0 ? resolveAttack(JSON.parse(out) as VegetaReport) : reject(new Error(`vegeta report exited ${code}`))));
    a.once('error', reject);
  });
}

// ---------------------------------------------------------------- applications, end to end

interface Ends {
  submitted: number;
  final: number;
  /** Applications whose final outcome fell within the window, per second. */
  completedPerS: number;
  p50: number;
  p95: number;
  p99: number;
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

async function ends(db: Db, from: number, to: number): Promise<Ends> {
  const created = await db('applications').whereBetween('created_at', [from, to]).select('id', 'created_at');
  const finals = await db('application_states').whereIn('state', [...FINAL_OUTCOMES]).whereIn('application_id', created.map((r) => r.id as string)).select('application_id', 'at');
  const at = new Map(finals.map((f) => [f.application_id as string, Number(f.at)]));
  const latencies = created.filter((r) => at.has(r.id as string)).map((r) => at.get(r.id as string)! - Number(r.created_at)).sort((x, y) => x - y);
  const completed = await db('application_states').whereIn('state', [...FINAL_OUTCOMES]).whereBetween('at', [from, to]).count({ n: '*' }).first();
  return { submitted: created.length, final: latencies.length, completedPerS: Number(completed?.n ?? 0) / ((to - from) / 1000), p50: pct(latencies, 50), p95: pct(latencies, 95), p99: pct(latencies, 99) };
}

async function drained(db: Db, from: number, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    const open = await db('applications')
      .where('created_at', '>=', from)
      .whereNotExists(db('application_states').whereRaw('application_states.application_id = applications.id').whereIn('state', [...FINAL_OUTCOMES]))
      .count({ n: '*' })
      .first();
    if (Number(open?.n ?? 0) === 0) return;
    await sleep(1000);
  }
}

// ---------------------------------------------------------------- one run

interface Phase {
  name: string;
  rate: number;
  seconds: number;
  submit: { throughput: number; success: number; p50ms: number; p95ms: number; p99ms: number; errors: number; codes: Record<string, number> };
  ends?: Ends;
  resources: Record<string, { cpuPct: number; peakRssMiB: number }>;
  window: [number, number];
}

interface Run {
  label: string;
  machine: string;
  at: string;
  phases: Phase[];
  saturation: { rate: number; completedPerS: number };
}

async function runPhases(): Promise<Run> {
  const plan = clusterPartyPlan(clusterPartiesFromEnv());
  const apis = plan.filter((p) => p.role === 'platform').map((p) => p.api!);
  const targetFile = join(process.env.DZL_CLUSTER_DIR ?? join(ROOT, '.dzl', 'cluster'), 'load-targets.jsonl');
  writeFileSync(targetFile, targets(apis));
  const db = await openDb(process.env.DZL_DB_URL ?? 'mysql://root@127.0.0.1:3306/dzl_cluster');
  const label = arg('label', 'cluster');
  const phases: Phase[] = [];
  const step = async (name: string, rate: number, seconds: number) => {
    const meter = new Meter();
    meter.begin();
    const from = Date.now();
    const rep = await attack(targetFile, rate, seconds);
    const to = Date.now();
    const resources = meter.end();
    const errors = rep.requests - Math.round(rep.success * rep.requests);
    const ms = (ns: number) => Math.round(ns / 1e6);
    phases.push({ name, rate, seconds, window: [from, to], resources, submit: { throughput: rep.throughput, success: rep.success, p50ms: ms(rep.latencies['50th']), p95ms: ms(rep.latencies['95th']), p99ms: ms(rep.latencies['99th']), errors, codes: rep.status_codes } });
    say(`  ${label} · ${name} ${rate}/s for ${seconds} s: submitted ${rep.requests}, ${(rep.success * 100).toFixed(1)}% accepted, p99 ${ms(rep.latencies['99th'])} ms`);
  };
  const t0 = Date.now();
  const constantS = Number(arg('constant-s', '60'));
  if (constantS > 0) await step('constant', Number(arg('rate', '4')), constantS);
  for (const r of arg('ramp', '2,4,6,8,10,12').split(',').filter(Boolean).map(Number)) await step('ramp', r, Number(arg('step-s', '30')));
  const soakS = Number(arg('soak-s', '0'));
  if (soakS > 0) await step('soak', Number(arg('soak-rate', arg('rate', '4'))), soakS);
  await drained(db, t0, Number(arg('drain-s', '240')) * 1000);
  for (const p of phases) p.ends = await ends(db, p.window[0], p.window[1]);
  await db.destroy();
  // saturation: the most the cluster completed per second in a ramp step
  const ramp = phases.filter((p) => p.name === 'ramp');
  const best = ramp.reduce((a, b) => ((b.ends?.completedPerS ?? 0) > (a.ends?.completedPerS ?? 0) ? b : a), ramp[0] ?? phases[0]!);
  return { label, machine: machine(), at: new Date().toISOString(), phases, saturation: { rate: best.rate, completedPerS: best.ends?.completedPerS ?? 0 } };
}

function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

// ---------------------------------------------------------------- the report

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)}` : '–');

function table(run: Run): string[] {
  const out = [`${run.label} (${run.machine}, ${run.at})`, '| phase | rate /s | s | submitted | accepted | submit p50/p99 ms | completed /s | end-to-end p50/p95/p99 ms | final/submitted |', '|---|---|---|---|---|---|---|---|---|'];
  for (const p of run.phases) {
    const e = p.ends!;
    out.push(`| ${p.name} | ${p.rate} | ${p.seconds} | ${e.submitted} | ${(p.submit.success * 100).toFixed(1)}% | ${p.submit.p50ms}/${p.submit.p99ms} | ${f1(e.completedPerS)} | ${ms(e.p50)}/${ms(e.p95)}/${ms(e.p99)} | ${e.final}/${e.submitted} |`);
  }
  const busiest = run.phases.reduce((a, b) => (b.rate > a.rate ? b : a));
  out.push('', `CPU (% of one core; the machine: % of all its cores) and peak memory (PSS) per process in the ${busiest.name} step at ${busiest.rate}/s:`, '');
  out.push(
    Object.entries(busiest.resources)
      .sort((a, b) => b[1].cpuPct - a[1].cpuPct)
      .map(([n, r]) => `${n} ${r.cpuPct}%${r.peakRssMiB ? ` ${r.peakRssMiB} MiB` : ''}`)
      .join(' · '),
  );
  return out;
}

function compare(a: Run, b: Run): string[] {
  const out = [...table(a), '', ...table(b), ''];
  const constant = (r: Run) => r.phases.find((p) => p.name === 'constant');
  out.push(`| side by side | ${a.label} | ${b.label} | ratio |`, '|---|---|---|---|');
  out.push(`| saturation: completed /s (at the ramp step of) | ${f1(a.saturation.completedPerS)} (${a.saturation.rate}/s) | ${f1(b.saturation.completedPerS)} (${b.saturation.rate}/s) | **${(b.saturation.completedPerS / a.saturation.completedPerS).toFixed(2)}×** |`);
  const ca = constant(a)?.ends;
  const cb = constant(b)?.ends;
  if (ca && cb) out.push(`| constant rate: end-to-end p99 ms | ${ms(ca.p99)} | ${ms(cb.p99)} | ${(cb.p99 / ca.p99).toFixed(2)}× |`);
  return out;
}

async function main(): Promise<void> {
  const cmp = process.argv.indexOf('--compare');
  if (cmp >= 0) {
    const [a, b] = [process.argv[cmp + 1]!, process.argv[cmp + 2]!].map((f) => JSON.parse(readFileSync(f, 'utf8')) as Run);
    say(compare(a!, b!).join('\n'));
    return;
  }
  if (!existsSync(VEGETA)) throw new Error(`no vegeta at ${VEGETA}: deploy/cluster.sh load builds it (go install github.com/tsenart/vegeta/v12)`);
  const run = await runPhases();
  writeFileSync(arg('out', join(ROOT, '.dzl', 'cluster', 'load.json')), JSON.stringify(run, null, 2));
  say(table(run).join('\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`load: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
