/**
 * Stable error codes. A platform engineer sees the code and the message; both are part of the
 * contract (contracts/openapi.yaml lists them). Messages name fields and parties, never values.
 * The HTTP and gRPC layers map a code to a status here and nowhere else.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

interface CodeSpec {
  http: number;
  grpc: GrpcStatus;
}

export const ERROR_CODES = {
  // malformed or oversized input
  REQUEST_MALFORMED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  REQUEST_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  HOP_MALFORMED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  HOP_VERSION_UNSUPPORTED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  HOP_ALGORITHM_UNSUPPORTED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  // authentication and integrity
  REQUEST_UNAUTHENTICATED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  HOP_SIGNER_UNKNOWN: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  HOP_SIGNER_MISMATCH: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  HOP_CERTIFICATE_INVALID: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  HOP_SIGNATURE_INVALID: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  HOP_CIPHERTEXT_TAMPERED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  HOP_MANIFEST_MISMATCH: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  HOP_NOT_FOR_RECIPIENT: { http: 421, grpc: GrpcStatus.FAILED_PRECONDITION },
  HOP_REPLAYED: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS },
  HOP_EXPIRED: { http: 400, grpc: GrpcStatus.FAILED_PRECONDITION },
  HOP_FROM_FUTURE: { http: 400, grpc: GrpcStatus.FAILED_PRECONDITION },
  RECEIPT_INVALID: { http: 502, grpc: GrpcStatus.DATA_LOSS },
  // routing rules
  DIRECT_CONNECTION_REFUSED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  ROUTE_NOT_ALLOWED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  FIELD_NOT_ALLOWED_FOR_RECIPIENT: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  FIELD_UNKNOWN: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  FIELD_C3_REFUSED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  /** The field is lawful on this route but the minimisation policy does not give it to this recipient. */
  FIELD_EXCEEDS_MINIMISATION: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  CHANNEL_NOT_LICENSED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  PARTY_UNKNOWN: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  PARTY_ROLE_MISMATCH: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  CONSENT_MISSING: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  CONSENT_DOES_NOT_NAME_RECIPIENT: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  CONSENT_EXPIRED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  CONSENT_MISMATCH: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  CONSENT_WITHDRAWN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  CONSENT_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  NOTICE_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  /** Recorded, never returned: a party did not acknowledge a notice within 30 days of retries. */
  NOTICE_UNACKNOWLEDGED: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED },
  // idempotency and state
  IDEMPOTENCY_KEY_MISSING: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  IDEMPOTENCY_KEY_REUSED: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS },
  APPLICATION_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  ENDPOINT_NOT_FOUND: { http: 404, grpc: GrpcStatus.UNIMPLEMENTED },
  EVIDENCE_NOT_YET_WITNESSED: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  DECISION_TOO_LATE: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  NO_ELIGIBLE_BANK: { http: 422, grpc: GrpcStatus.FAILED_PRECONDITION },
  REDIRECT_TOKEN_INVALID: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  REDIRECT_TOKEN_EXPIRED: { http: 410, grpc: GrpcStatus.FAILED_PRECONDITION },
  REDIRECT_TOKEN_USED: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS },
  // delivery
  PARTY_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

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
    return ERROR_CODES[this.code].grpc;
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
