/**
 * A parser that loops for ever cannot be stopped from its own thread: a property that hangs would
 * hang the test run. A worker thread watches a clock the property stamps before each call; a call
 * still running after DZL_FUZZ_HANG_MS (30 s) is reported on stderr, with the property and its
 * seed, and the process is stopped (and the Temporal dev server the root hook started with it).
 */
import { Worker } from 'node:worker_threads';

const HANG_MS = Number(process.env.DZL_FUZZ_HANG_MS ?? 30_000);
const LABEL_BYTES = 1024;

const shared = {
  /** [when the running call started (ms, 0 when none), pid to stop with the process (0 when none)] */
  clock: new BigInt64Array(new SharedArrayBuffer(16)),
  label: new Uint8Array(new SharedArrayBuffer(LABEL_BYTES)),
};

const WORKER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const clock = new BigInt64Array(workerData.clock);
const label = new Uint8Array(workerData.label);
setInterval(() => {
  const started = Number(Atomics.load(clock, 0));
  if (started === 0 || Date.now() - started < workerData.hangMs) return;
  const what = Buffer.from(label).toString('utf8').replace(/\\0+$/, '');
  writeSync(2, '\\nfuzz watchdog: ' + what + ': one call has run for more than ' + workerData.hangMs + ' ms (a hang); stopping the run\\n');
  const also = Number(Atomics.load(clock, 1));
  try { if (also > 0) process.kill(also, 'SIGKILL'); } catch {}
  process.kill(process.pid, 'SIGKILL');
}, 250);
`;

let worker: Worker | undefined;

/** Names what runs from now on (the property and its seed), for the report of a hang. */
export function watching(what: string, alsoStopPid?: number): void {
  if (!worker) {
    worker = new Worker(WORKER, { eval: true, workerData: { clock: shared.clock.buffer, label: shared.label.buffer, hangMs: HANG_MS } });
    worker.unref();
  }
  shared.label.fill(0);
  shared.label.set(Buffer.from(what, 'utf8').subarray(0, LABEL_BYTES - 1));
  Atomics.store(shared.clock, 1, BigInt(alsoStopPid ?? 0));
}

export function callStarted(): void {
  Atomics.store(shared.clock, 0, BigInt(Date.now()));
}

export function callEnded(): void {
  Atomics.store(shared.clock, 0, 0n);
}
