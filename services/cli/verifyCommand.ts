/**
 * `dzl verify <bundle>`: checks an evidence bundle offline against the network CA, the router's
 * checkpoint key and the log's origin (both pinned: a checkpoint of another log signed with the
 * same key fails), and any witnesses the regulator requires. Exit code 0 when every check passes,
 * 1 when any fails, 2 when the bundle or the trust roots cannot be read. `--json` prints the
 * report, whose `codes` list the stable code of each failed check (contracts/envelope.md §20.8).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { verifyBundle, type VerifyReport } from '../evidence/verify';
import { readNetworkFile } from '../network/folder';

export interface VerifyOptions {
  network: string;
  ca?: string;
  routerKey?: string;
  origin?: string;
  witnessKey: string[];
  requireWitness: string[];
  json?: boolean;
}

/** Bundles larger than this show a progress bar on stderr. */
const PROGRESS_THRESHOLD = 200;
/** Passed checks (refusals among them) printed before the rest are elided; failures are never elided. */
const MAX_PASSED_LINES = 40;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

class UsageError extends Error {}

function readBundle(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read bundle ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`bundle ${file} is not JSON`);
  }
}

interface TrustRoots {
  caPem: string;
  routerVkey: string;
  origin: string;
}

function trustRoots(o: VerifyOptions): TrustRoots {
  const caFile = o.ca ?? join(o.network, 'ca', 'ca.crt');
  let caPem: string;
  try {
    caPem = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the CA certificate ${caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let log: { routerVkey?: string; origin?: string } | undefined;
  if (!o.routerKey || !o.origin) {
    try {
      log = readNetworkFile(o.network).log;
    } catch {
      log = undefined;
    }
  }
  const routerVkey = o.routerKey ?? log?.routerVkey;
  if (!routerVkey) throw new UsageError(`no --router-key given and ${join(o.network, 'network.json')} names no log.routerVkey`);
  const origin = o.origin ?? log?.origin;
  if (!origin) throw new UsageError(`no --origin given and ${join(o.network, 'network.json')} names no log.origin: the log's origin is pinned with its key`);
  return { caPem, routerVkey, origin };
}

function leafCount(bundle: unknown): number {
  const leaves = (bundle as { leaves?: unknown } | null)?.leaves;
  return Array.isArray(leaves) ? leaves.length : 0;
}

function withProgress(leaves: number, run: (onProgress?: (done: number, total: number) => void) => VerifyReport): VerifyReport {
  if (leaves <= PROGRESS_THRESHOLD) return run();
  const bar = new SingleBar(
    { format: 'verifying  [{bar}] {percentage}%  {value}/{total}', stream: process.stderr, hideCursor: true, barsize: 30, clearOnComplete: true },
    Presets.shades_classic,
  );
  let started = false;
  try {
    return run((done, total) => {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    });
  } finally {
    if (started) bar.stop();
  }
}

function formatReport(file: string, r: VerifyReport): string {
  const failed = r.checks.filter((c) => !c.ok).length;
  const lines: string[] = [];
  lines.push(r.ok ? `PASS  ${file}: all ${r.checks.length} checks pass` : `FAIL  ${file}: ${failed} of ${r.checks.length} checks failed`);
  for (const c of r.checks) if (!c.ok) lines.push(`  ✗ ${c.code} ${c.reason ?? c.check}`);
  const table = new Table({ style: { head: [], border: [] } });
  const scope = r.scope
    ? r.scope.kind === 'application'
      ? `application ${r.scope.applicationId}`
      : r.scope.kind === 'party'
        ? `party ${r.scope.partyId} ${r.scope.from} – ${r.scope.to}`
        : 'direct-connection audit (whole log)'
    : '—';
  const s = r.summary;
  table.push(
    { scope },
    { 'tree size': r.treeSize === undefined ? '—' : String(r.treeSize) },
    { leaves: `${s.leaves} (hops ${s.hops}, receipts ${s.receipts}, refusals ${s.refusals}, parties ${s.parties}, consents ${s.consents})` },
    {
      lifecycle: `withdrawals ${s.withdrawals}, expiries ${s.expiries}, notices ${s.notices} (acknowledged ${s.acknowledgements}), deletions ${s.deletions}`,
    },
    { provenance: s.provenance.length > 0 ? s.provenance.map((p) => `${p.kind} ${p.from}: ${p.name} ${p.version}`).join('\n') : '—' },
    { 'witnessed by': s.witnessedBy.length > 0 ? s.witnessedBy.join('\n') : '—' },
  );
  lines.push(table.toString());
  const passed = r.checks.filter((c) => c.ok);
  if (passed.length > 0) {
    lines.push('checks passed:');
    for (const c of passed.slice(0, MAX_PASSED_LINES)) lines.push(`  ✓ ${c.check}${c.reason ? ` — ${c.reason}` : ''}`);
    if (passed.length > MAX_PASSED_LINES) lines.push(`  … and ${passed.length - MAX_PASSED_LINES} more (--json lists every check)`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify <bundle>')
    .description('verify an evidence bundle offline: checkpoint, inclusion proofs, signatures, receipts and the routing rules')
    .option('--network <dir>', 'network folder, for the default CA and router key', process.env.DZL_NETWORK_DIR ?? '.dzl/network')
    .option('--ca <file>', 'the network CA certificate (PEM); default <network>/ca/ca.crt')
    .option('--router-key <vkey>', "the router's checkpoint key (note vkey); default network.json log.routerVkey")
    .option('--origin <origin>', "the log's origin line, pinned with its key; default network.json log.origin")
    .option('--witness-key <vkey>', 'a witness that must have cosigned the checkpoint (repeatable)', collect, [])
    .option('--require-witness <vkey>', 'alias of --witness-key', collect, [])
    .option('--json', 'print the report as JSON')
    .action((file: string, o: VerifyOptions) => {
      let bundle: unknown;
      let roots: TrustRoots;
      try {
        bundle = readBundle(file);
        roots = trustRoots(o);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        process.stderr.write(`dzl verify: ${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      const requireWitnesses = [...o.witnessKey, ...o.requireWitness];
      const report = withProgress(leafCount(bundle), (onProgress) =>
        verifyBundle({ bundle, ...roots, requireWitnesses, ...(onProgress ? { onProgress } : {}) }),
      );
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(file, report));
      process.exitCode = report.ok ? 0 : 1;
    });
}
