/**
 * The one way an activity turns a refusal into evidence: a `refusal` leaf (once per application,
 * stage and hop, however often the activity is retried), the `refused` state when the refusal
 * ends the application, a log line with ids and the code only — and the Refused result the
 * workflow routes on.
 */
import type { DzlError } from '../common/errors';
import type { Logger } from '../common/logger';
import { recordRefusal } from '../ledger/ledger';
import type { Refused } from '../orchestration/contract';
import { appendState } from '../store/applicationStates';
import type { Db } from '../store/db';

export interface RefusalSite {
  applicationId: string;
  stage: string;
  /** Who refused: the router, or the party whose signed rejection or gRPC refusal it was. */
  refusedBy: string;
  hopId?: string;
  /** True when the refusal ends the application (a cascade attempt's refusal does not). */
  endsApplication: boolean;
  /** What the party answered (its receipt, its reply hop): none of its values reach the leaf (§19.2). */
  input?: unknown;
}

export async function recordStepRefusal(db: Db, log: Logger, at: RefusalSite, err: DzlError): Promise<Refused> {
  await recordRefusal(db, {
    code: err.code,
    message: err.message,
    stage: at.stage,
    refusedBy: at.refusedBy,
    applicationId: at.applicationId,
    ...(at.hopId ? { hopId: at.hopId } : {}),
    ...(at.input !== undefined ? { input: at.input } : {}),
    dedupKey: `refusal:${at.applicationId}:${at.stage}:${at.hopId ?? ''}`,
  });
  if (at.endsApplication) await appendState(db, at.applicationId, { state: 'refused', reasonCode: err.code, ...(at.hopId ? { hopId: at.hopId } : {}) });
  log.warn({ applicationId: at.applicationId, stage: at.stage, code: err.code }, 'hop refused');
  return { status: 'refused', code: err.code, stage: at.stage };
}
