/**
 * Summarises V8 CPU profiles (`node --cpu-prof --cpu-prof-dir DIR dist/services/bench/bench.js`):
 * self time by function and by origin (a node_modules package, node's internals, dzl's own code).
 *
 *   node dist/services/bench/profileSummary.js DIR/*.cpuprofile [--top 25] [--window FROM-TO]
 *
 * --window keeps the samples between FROM and TO seconds after the profile started (e.g. the
 * full-stack phase only).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function originOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const dzl = /\/dist\/(services|workflows)\/([^/]+)/.exec(url);
  if (dzl) return `dzl ${dzl[1]}/${dzl[2]}`;
  return basename(url);
}

function summarise(file: string, top: number, window?: [number, number]): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  p.samples.forEach((id, i) => {
    t += p.timeDeltas[i] ?? 0;
    const s = (t - p.startTime) / 1e6;
    if (window && (s < window[0] || s > window[1])) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
  const busy = total - idle;

  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const origin = originOf(url, functionName);
    const key = `${functionName || '(anonymous)'}  ${origin}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
  }
  const line = (us: number, label: string) => `${(us / 1000).toFixed(0).padStart(8)} ms ${((us / busy) * 100).toFixed(1).padStart(5)} %  ${label}\n`;
  process.stdout.write(`\n${file}${window ? ` (seconds ${window[0]}–${window[1]} of the profile)` : ''}\n  wall ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (idle ${(idle / 1e6).toFixed(1)} s)\n`);
  process.stdout.write(`  self time by origin (share of busy):\n`);
  for (const [k, us] of [...byOrigin].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write('  ' + line(us, k));
  process.stdout.write(`  self time by function:\n`);
  for (const [k, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write('  ' + line(us, k));
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) || 25 : 25;
const windowAt = args.indexOf('--window');
const window = windowAt >= 0 ? (args.splice(windowAt, 2)[1]!.split('-').map(Number) as [number, number]) : undefined;
if (args.length === 0) {
  process.stderr.write('usage: node dist/services/bench/profileSummary.js FILE.cpuprofile… [--top N] [--window FROM-TO]\n');
  process.exit(2);
}
for (const f of args) summarise(f, top, window);
