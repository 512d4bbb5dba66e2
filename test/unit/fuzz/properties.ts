/**
 * How a fuzz property runs, and what every parser owes hostile input: an answer, or a refusal
 * with a DzlError of a stable code — never another exception, never a stack overflow, never a
 * slow call. Runs are bounded (DZL_FUZZ_RUNS scales them for a deeper run by hand); the seed is
 * printed on failure, and DZL_FUZZ_SEED=<seed> replays it.
 */
import { AssertionError } from 'node:assert';
import fc from 'fast-check';
import { DzlError, isErrorCode } from '../../../services/common/errors';
import { env } from '../../support/env';
import { callEnded, callStarted, watching } from './watchdog';

const SCALE = Number(process.env.DZL_FUZZ_RUNS ?? 1);
const FIXED_SEED = process.env.DZL_FUZZ_SEED === undefined ? undefined : Number(process.env.DZL_FUZZ_SEED);
/** One call on a loaded 2-core machine: a parser slower than this on one input is a finding. */
export const CALL_BUDGET_MS = Number(process.env.DZL_FUZZ_CALL_MS ?? 2_000);

/**
 * Runs a property `runs` times from a fresh seed. `examples` run first: a known counterexample of
 * a FINDING not fixed yet, so that the property fails every time rather than by chance.
 */
export function checkProperty<Ts>(label: string, runs: number, property: fc.IProperty<Ts>, examples: Ts[] = []): void {
  const seed = FIXED_SEED ?? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
  watching(`${label} (DZL_FUZZ_SEED=${seed})`, env.temporal?.process.pid);
  try {
    fc.assert(property, { numRuns: Math.max(1, Math.round(runs * SCALE)), seed, examples });
    // the inputs carry {"__proto__":{"polluted":1}} and {"constructor":{"prototype":…}}: no parser may have merged them into Object.prototype
    if ('polluted' in {}) throw new AssertionError({ message: `${label}: an input polluted Object.prototype` });
  } catch (err) {
    if (err instanceof Error) err.message = `${label}: ${err.message}\nReplay: DZL_FUZZ_SEED=${seed}`;
    throw err;
  }
}

/** What a thrown value is and where it came from, without trusting it to stringify. */
export function describeThrow(err: unknown): string {
  if (!(err instanceof Error)) return `a thrown ${typeof err}, not an Error`;
  const where = err.stack?.split('\n').find((line) => line.includes('/services/'))?.trim();
  return `${err.name}: ${err.message.slice(0, 200)}${where ? ` (${where})` : ''}`;
}

export type Outcome<T> = { accepted: true; value: T } | { accepted: false; refusal: DzlError };

/** Runs one parser call on one input: what it returned, or the DzlError it refused with; anything else fails the property. */
export function attempt<T>(what: string, call: () => T): Outcome<T> {
  const started = Date.now();
  callStarted();
  let outcome: Outcome<T>;
  try {
    outcome = { accepted: true, value: call() };
  } catch (err) {
    if (!(err instanceof DzlError) || !isErrorCode(err.code)) {
      throw new AssertionError({ message: `${what} threw ${describeThrow(err)}; it may refuse only with a DzlError of a stable code` });
    }
    outcome = { accepted: false, refusal: err };
  } finally {
    callEnded();
  }
  const ms = Date.now() - started;
  if (ms > CALL_BUDGET_MS) throw new AssertionError({ message: `${what} took ${ms} ms on one input (budget ${CALL_BUDGET_MS} ms)` });
  return outcome;
}

/** For input that must not pass (its signed bytes were changed, unless `why` says otherwise): the call must refuse, with a stable code. */
export function mustRefuse(what: string, call: () => unknown, why = 'an input whose signed bytes were changed'): DzlError {
  const outcome = attempt(what, call);
  if (outcome.accepted) throw new AssertionError({ message: `${what} accepted ${why}` });
  return outcome.refusal;
}
