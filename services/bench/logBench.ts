/**
 * `node dist/services/bench/logBench.js [--sizes 10000,100000,1000000] [--reps R] [--keep]`
 * (`make bench-log`): the evidence log's own costs as it grows, side by side.
 *
 * One SQLite store in a temporary directory is grown to each size in turn with the project's own
 * functions: leaves written in bulk (store/evidenceLeaves insertLeaves), then sequenced and
 * integrated into the tiles (ledger/log integratePending). At each size it times, median and p95
 * over R repetitions:
 *   checkpoint   sequence and integrate 100 new leaves and sign a checkpoint (publishCheckpoint;
 *                writing the leaves is not timed)
 *   inclusion    one inclusion proof of a random leaf in the latest tree
 *   consistency  one consistency proof from a random earlier size
 *   bundle       one application's 12-leaf evidence bundle (applicationBundle: a fresh checkpoint,
 *                the leaves, their context and 12 proofs)
 * Issue 13's targets: each flat within 2× from the first size to the last; the bundle under 50 ms
 * at 10⁶. Nothing here asserts a timing.
 */
import { createHash, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashLeaf } from '../evidence/merkle';
import { generateNoteKey } from '../evidence/note';
import { applicationBundle } from '../ledger/bundles';
import { integratePending, proveConsistency, proveInclusion, publishCheckpoint, type LogConfig } from '../ledger/log';
import { insertApplication } from '../store/applications';
import { openDb, type Db } from '../store/db';
import { insertLeaves, type NewLeafRow } from '../store/evidenceLeaves';
import { readLogState } from '../store/evidenceLog';

const USAGE = `usage: node dist/services/bench/logBench.js [--sizes 10000,100000,1000000] [--reps 30] [--keep]`;
const BUNDLE_LEAVES = 12;
const CHECKPOINT_BATCH = 100;

interface Timing {
  median: number;
  p95: number;
}

interface SizeResult {
  size: number;
  growSeconds: number;
  checkpoint: Timing;
  inclusion: Timing;
  consistency: Timing;
  bundle: Timing;
  bundleLeaves: number;
  rssMiB: number;
}

function timing(ms: number[]): Timing {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p95: s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]! };
}

async function timed(reps: number, run: (i: number) => Promise<unknown>): Promise<Timing> {
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    await run(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return timing(ms);
}

/** Like timed, with an untimed step before each repetition. */
async function timedAfter(reps: number, before: () => Promise<unknown>, run: () => Promise<unknown>): Promise<Timing> {
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    await before();
    const t = process.hrtime.bigint();
    await run();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return timing(ms);
}

let counter = 0;

/** A refusal-shaped leaf of realistic size (~400 bytes), optionally filed under an application. */
function leaf(applicationId?: string): NewLeafRow {
  const i = counter++;
  const data = JSON.stringify({
    type: 'refusal',
    recordedAt: new Date().toISOString(),
    code: 'HOP_SIGNATURE_INVALID',
    message: 'the hop header signature does not verify under the sender certificate named by its key id',
    stage: 'bench',
    refusedBy: 'router',
    ...(applicationId ? { applicationId } : {}),
    hopId: `hop-${i}`,
    headerDigest: createHash('sha256').update(String(i)).digest('base64url'),
    from: 'platform-bench',
    to: 'channel-bench',
  });
  return { dedupKey: `bench:${i}`, kind: 'refusal', ...(applicationId ? { applicationId, hopId: `hop-${i}` } : {}), data, leafHash: Buffer.from(hashLeaf(Buffer.from(data))).toString('hex') };
}

/** Grows the log to `target` leaves; the last stretch interleaves one application's 12 leaves, as its hops arrive among others'. */
async function grow(db: Db, target: number, applicationId: string): Promise<void> {
  const have = (await readLogState(db)).treeSize;
  const toAdd = target - have;
  const tail = Math.min(toAdd, BUNDLE_LEAVES * 50);
  const CHUNK = 50_000;
  for (let done = 0; done < toAdd - tail; ) {
    const n = Math.min(CHUNK, toAdd - tail - done);
    await db.transaction((trx) => insertLeaves(trx, Array.from({ length: n }, () => leaf())));
    await integratePending(db);
    done += n;
    process.stderr.write(`\r  ${have + done} leaves`);
  }
  const last = Array.from({ length: tail }, (_, i) => leaf(i % 50 === 0 && i / 50 < BUNDLE_LEAVES ? applicationId : undefined));
  await db.transaction((trx) => insertLeaves(trx, last));
  await integratePending(db);
  process.stderr.write(`\r  ${target} leaves\n`);
}

async function measure(db: Db, log: LogConfig, target: number, reps: number): Promise<SizeResult> {
  const applicationId = `app-bench-${target}`;
  await insertApplication(db, {
    id: applicationId,
    platformId: 'platform-bench',
    idempotencyKey: applicationId,
    requestHash: 'bench',
    workflowId: applicationId,
    model: 'data_channel',
    channelId: 'channel-bench',
    bankId: 'bank-bench',
    consentId: `consent-${applicationId}`,
    callbackUrl: null,
    intakeHopId: 'hop-bench',
    createdAt: Date.now(),
  });
  const t0 = Date.now();
  await grow(db, target, applicationId);
  const growSeconds = (Date.now() - t0) / 1000;
  await publishCheckpoint(db, log);
  // the leaves are written untimed: their insert is the ledger's cost, not the log's
  const checkpoint = await timedAfter(
    reps,
    () => insertLeaves(db, Array.from({ length: CHECKPOINT_BATCH }, () => leaf())),
    () => publishCheckpoint(db, log),
  );
  const size = (await publishCheckpoint(db, log)).treeSize;
  const inclusion = await timed(reps, () => proveInclusion(db, randomInt(size), size));
  const consistency = await timed(reps, () => proveConsistency(db, 1 + randomInt(size - 1), size));
  let bundleLeaves = 0;
  const bundle = await timed(reps, async () => {
    bundleLeaves = (await applicationBundle(db, log, applicationId)).leaves.length;
  });
  return { size: target, growSeconds, checkpoint, inclusion, consistency, bundle, bundleLeaves, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) };
}

function print(results: SizeResult[]): void {
  const ms = (t: Timing) => `${t.median.toFixed(2)} (${t.p95.toFixed(2)})`;
  const rows = [
    ['leaves', ...results.map((r) => r.size.toLocaleString('en'))],
    ['grow (s, bulk)', ...results.map((r) => r.growSeconds.toFixed(1))],
    [`checkpoint of ${CHECKPOINT_BATCH} new leaves (ms)`, ...results.map((r) => ms(r.checkpoint))],
    ['inclusion proof (ms)', ...results.map((r) => ms(r.inclusion))],
    ['consistency proof (ms)', ...results.map((r) => ms(r.consistency))],
    [`bundle, ${BUNDLE_LEAVES} leaves (ms)`, ...results.map((r) => `${ms(r.bundle)}${r.bundleLeaves !== BUNDLE_LEAVES ? ` [${r.bundleLeaves} leaves]` : ''}`)],
    ['rss (MiB)', ...results.map((r) => String(r.rssMiB))],
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  process.stdout.write('\nevidence log, SQLite, median (p95) of each operation\n');
  for (const r of rows) process.stdout.write(`  ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ')}\n`);
  const first = results[0]!;
  const last = results[results.length - 1]!;
  const ratio = (f: (r: SizeResult) => Timing) => f(last).median / f(first).median;
  process.stdout.write(
    `\n  ${last.size.toLocaleString('en')} vs ${first.size.toLocaleString('en')} leaves: checkpoint ${ratio((r) => r.checkpoint).toFixed(2)}×, inclusion ${ratio((r) => r.inclusion).toFixed(2)}×, consistency ${ratio((r) => r.consistency).toFixed(2)}×, bundle ${ratio((r) => r.bundle).toFixed(2)}× (target ≤ 2×)\n`,
  );
  process.stdout.write(`  bundle at ${last.size.toLocaleString('en')}: ${last.bundle.median.toFixed(2)} ms (target < 50 ms)\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000,100000,1000000' }, reps: { type: 'string', default: '30' }, keep: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const sizes = values.sizes.split(',').map(Number);
  const reps = Number(values.reps);
  if (sizes.some((s) => !Number.isSafeInteger(s) || s < 1000) || sizes.some((s, i) => i > 0 && s <= sizes[i - 1]!) || !Number.isSafeInteger(reps) || reps < 1) {
    throw new Error(`${USAGE}\n  sizes ascending, each ≥ 1000; reps ≥ 1`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'dzl-log-bench-'));
  const db = await openDb(`sqlite://${join(dir, 'log.db')}`);
  const log: LogConfig = { origin: 'dzl.bench/evidence', signer: generateNoteKey('dzl.bench/router').signer };
  try {
    const results: SizeResult[] = [];
    for (const size of sizes) {
      process.stderr.write(`growing to ${size.toLocaleString('en')} leaves\n`);
      results.push(await measure(db, log, size, reps));
    }
    print(results);
  } finally {
    await db.destroy();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dir}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
