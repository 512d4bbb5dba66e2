import { DefaultFailureConverter } from '@temporalio/common';

/** Moves error messages and stack traces into an (encrypted) payload instead of plain history. */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
