/**
 * Workflows alone: the real workflow code on the run's Temporal dev server, on a task queue of its
 * own, with activities replaced by a script the test writes — no store, no parties, no crypto.
 * Each scripted activity answers what the test says and keeps what it was asked, so a test asserts
 * the outcome and the order of work, and can hold an activity until it lets it go.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Activities, AttemptRecord, DecisionResult, StepResult } from '../../services/orchestration/contract';
import { ROOT, temporalAddress, workflowBundle } from './env';

export const HISTORIES_DIR = join(ROOT, 'test', 'fixtures', 'histories');

/** A promise the test resolves when it chooses. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export interface Script {
  /** The channel's answer to the application (default: a credit report for the first bank, hop-report-<bank>). */
  channel?: () => Promise<StepResult>;
  /** Each bank's answer to its delivery, by bank id. */
  banks: Record<string, () => Promise<DecisionResult>>;
  /** The channel's report for a later bank of the cascade. */
  reportFor?: (bankId: string) => Promise<StepResult>;
  /** How a notice is answered (default: acknowledged at once). */
  notice?: (to: string) => Promise<void>;
  holders?: string[];
}

export interface Recorded {
  attempts: AttemptRecord[];
  notified: { final: string; reasonCode?: string; hopId?: string }[];
  notices: { to: string; kind: string; reason: string }[];
  retention: { reason: string }[];
  purged: string[];
}

export function scriptedActivities(script: Script): { activities: Activities; recorded: Recorded } {
  const recorded: Recorded = { attempts: [], notified: [], notices: [], retention: [], purged: [] };
  const activities: Activities = {
    deliverToChannel: async ({ bankId }) => (script.channel ? script.channel() : { status: 'forwarded', nextHopId: `hop-report-${bankId}` }),
    requestCreditReport: async ({ bankId }) => (script.reportFor ? script.reportFor(bankId) : { status: 'forwarded', nextHopId: `hop-report-${bankId}` }),
    // a credit report's hop id names its bank (hop-report-<bank>)
    deliverToBank: async ({ hopId }) => script.banks[hopId.replace(/^hop-report-/, '')]!(),
    deliverRedirect: async () => ({ status: 'delivered' }),
    recordAttempt: async (a) => void recorded.attempts.push(a),
    notifyPlatform: async (r) => void recorded.notified.push({ final: r.final, ...(r.reasonCode ? { reasonCode: r.reasonCode } : {}), ...(r.hopId ? { hopId: r.hopId } : {}) }),
    notifyDisbursement: async () => undefined,
    holdersOf: async () => script.holders ?? ['channel-a'],
    sendNotice: async (r) => {
      await (script.notice ? script.notice(r.to) : Promise.resolve());
      recorded.notices.push({ to: r.to, kind: r.kind, reason: r.reason });
    },
    recordUnacknowledged: async () => undefined,
    recordConsentWithdrawal: async (w) => [{ applicationId: `app-of-${w.consentId}`, workflowId: `wf-of-${w.consentId}`, stops: true }],
    setRetention: async (r) => void recorded.retention.push({ reason: r.reason }),
    purgeApplication: async (r) => void recorded.purged.push(r.applicationId),
    sweepRetention: async () => ({ askParties: [], sleepMs: 60_000 }),
    markPartyDeletionStarted: async () => undefined,
  };
  return { activities, recorded };
}

export interface Harness {
  client: Client;
  taskQueue: string;
  /** Runs `body` while a worker with these activities serves the harness's task queue. */
  run<T>(activities: Activities, body: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function workflowHarness(): Promise<Harness> {
  const connection = await Connection.connect({ address: temporalAddress() });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: temporalAddress() });
  const taskQueue = `workflow-tests-${randomUUID()}`;
  const bundle = await workflowBundle();
  return {
    client,
    taskQueue,
    async run(activities, body) {
      const worker = await Worker.create({ connection: native, taskQueue, workflowBundle: bundle, activities });
      return worker.runUntil(body());
    },
    async close() {
      await connection.close();
      await native.close();
    },
  };
}

/**
 * Keeps a finished workflow's history as a replay fixture when DZL_RECORD_HISTORIES=1 (then
 * commit test/fixtures/histories/); the replay test runs every fixture against today's code.
 */
export async function keepHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.DZL_RECORD_HISTORIES !== '1') return;
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), historyToJSON(await handle.fetchHistory()));
}
