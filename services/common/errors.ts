/**
 * The one error type of dzl's boundaries: a stable code (services/domain/errorCodes.ts), a
 * message a platform engineer can act on, and details safe to record. Messages name fields and
 * parties, never values. The HTTP and gRPC layers take the status from the code.
 */
import type { status as GrpcStatus } from '@grpc/grpc-js';
import { ERROR_CODES, isErrorCode, type ErrorCode } from '../domain/errorCodes';

export { ERROR_CODES, isErrorCode, type ErrorCode };

export class DzlError extends Error {
  override readonly name = 'DzlError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Non-personal details safe to record and return (field names, party ids, hop ids). */
    readonly details: Record<string, string | number | boolean | string[]> = {},
  ) {
    super(message);
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get grpcStatus(): GrpcStatus {
    return ERROR_CODES[this.code].grpc as GrpcStatus;
  }

  toJSON(): { code: ErrorCode; message: string; details: DzlError['details'] } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** The code of a DzlError, or INTERNAL for anything else (whose message is not shown). */
export function toDzlError(err: unknown): DzlError {
  if (err instanceof DzlError) return err;
  return new DzlError('INTERNAL', 'internal error; the request was not applied');
}
