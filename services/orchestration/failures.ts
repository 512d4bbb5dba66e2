/**
 * Failures that cross Temporal keep their code. A workflow, an update validator or an activity
 * throws `refusal(code, message)` — an ApplicationFailure whose `type` is the dzl error code —
 * and the router turns what it gets back into the same DzlError with `dzlErrorOf`, however deep
 * Temporal wrapped it (WorkflowUpdateFailedError → ApplicationFailure, WorkflowFailedError →
 * ActivityFailure → ApplicationFailure). The failure converter encodes messages, so what crosses
 * is a code and a message that names ids, never values.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DzlError, isErrorCode, type ErrorCode } from '../common/errors';

/** A refusal with a stable code; never retried (the same input is refused the same way). */
export function refusal(code: ErrorCode, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: code, message, nonRetryable: true });
}

/** The same refusal as a DzlError's. */
export function refusalOf(err: DzlError): ApplicationFailure {
  return refusal(err.code, err.message);
}

/** The dzl error code a Temporal failure carries, however deep it is wrapped; undefined if none. */
export function dzlErrorOf(err: unknown): DzlError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DzlError) return e;
    if (e instanceof ApplicationFailure && isErrorCode(e.type)) return new DzlError(e.type, e.message);
  }
  return undefined;
}
