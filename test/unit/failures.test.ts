/** A code thrown inside Temporal arrives at the router as the same code. */
import { strict as assert } from 'node:assert';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { DzlError } from '../../services/common/errors';
import { dzlErrorOf, refusal, refusalOf } from '../../services/orchestration/failures';

describe('typed failures across Temporal', () => {
  it('reads the code of an update validator’s refusal', () => {
    const err = new WorkflowUpdateFailedError('Workflow Update failed', refusal('CONSENT_WITHDRAWN', 'stopped'));
    const e = dzlErrorOf(err);
    assert.ok(e instanceof DzlError);
    assert.equal(e.code, 'CONSENT_WITHDRAWN');
    assert.equal(e.message, 'stopped');
  });

  it('reads it through a workflow failure wrapping an activity failure', () => {
    const inner = refusalOf(new DzlError('HOP_SIGNATURE_INVALID', 'bad signature'));
    const activity = new ActivityFailure('activity failed', 'deliverToBank', '1', RetryState.NON_RETRYABLE_FAILURE, undefined, inner);
    const e = dzlErrorOf(new WorkflowFailedError('failed', activity, RetryState.NON_RETRYABLE_FAILURE));
    assert.equal(e?.code, 'HOP_SIGNATURE_INVALID');
  });

  it('is never retried, and says nothing for a failure without a dzl code', () => {
    assert.equal(refusal('DECISION_TOO_LATE', 'late').nonRetryable, true);
    assert.equal(dzlErrorOf(new WorkflowUpdateFailedError('x', ApplicationFailure.create({ type: 'SomethingElse', message: 'no' }))), undefined);
    assert.equal(dzlErrorOf(new Error('plain')), undefined);
  });
});
