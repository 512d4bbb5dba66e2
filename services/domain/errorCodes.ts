/**
 * Stable error codes: the vocabulary every layer, every party and the verifier share. Each maps to
 * one HTTP and one gRPC status here and nowhere else (the numbers are gRPC's status codes, so this
 * module depends on nothing). contracts/openapi.yaml and contracts/envelope.md list them.
 */
const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

interface CodeSpec {
  http: number;
  grpc: (typeof GRPC)[keyof typeof GRPC];
}

export const ERROR_CODES = {
  // malformed or oversized input
  REQUEST_MALFORMED: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  REQUEST_TOO_LARGE: { http: 413, grpc: GRPC.RESOURCE_EXHAUSTED },
  HOP_MALFORMED: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  HOP_VERSION_UNSUPPORTED: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  HOP_ALGORITHM_UNSUPPORTED: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  // authentication and integrity
  REQUEST_UNAUTHENTICATED: { http: 401, grpc: GRPC.UNAUTHENTICATED },
  HOP_SIGNER_UNKNOWN: { http: 401, grpc: GRPC.UNAUTHENTICATED },
  HOP_SIGNER_MISMATCH: { http: 401, grpc: GRPC.UNAUTHENTICATED },
  HOP_CERTIFICATE_INVALID: { http: 401, grpc: GRPC.UNAUTHENTICATED },
  HOP_SIGNATURE_INVALID: { http: 401, grpc: GRPC.UNAUTHENTICATED },
  HOP_CIPHERTEXT_TAMPERED: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  HOP_MANIFEST_MISMATCH: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  HOP_NOT_FOR_RECIPIENT: { http: 421, grpc: GRPC.FAILED_PRECONDITION },
  HOP_REPLAYED: { http: 409, grpc: GRPC.ALREADY_EXISTS },
  HOP_EXPIRED: { http: 400, grpc: GRPC.FAILED_PRECONDITION },
  HOP_FROM_FUTURE: { http: 400, grpc: GRPC.FAILED_PRECONDITION },
  RECEIPT_INVALID: { http: 502, grpc: GRPC.DATA_LOSS },
  // routing rules
  DIRECT_CONNECTION_REFUSED: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  ROUTE_NOT_ALLOWED: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  FIELD_NOT_ALLOWED_FOR_RECIPIENT: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  FIELD_UNKNOWN: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  FIELD_C3_REFUSED: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  /** The field is lawful on this route but the minimisation policy does not give it to this recipient. */
  FIELD_EXCEEDS_MINIMISATION: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  CHANNEL_NOT_LICENSED: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  PARTY_UNKNOWN: { http: 404, grpc: GRPC.NOT_FOUND },
  PARTY_ROLE_MISMATCH: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  /** The operator API: admitting a party id that is registered already, without saying it is a renewal. */
  PARTY_ALREADY_REGISTERED: { http: 409, grpc: GRPC.ALREADY_EXISTS },
  /** An application, hop or consent id that is not in the namespace of the party that chose it (`<party id>:…`). */
  ID_OUTSIDE_NAMESPACE: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  CONSENT_MISSING: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  CONSENT_DOES_NOT_NAME_RECIPIENT: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  CONSENT_EXPIRED: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  CONSENT_MISMATCH: { http: 409, grpc: GRPC.FAILED_PRECONDITION },
  CONSENT_WITHDRAWN: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  CONSENT_NOT_FOUND: { http: 404, grpc: GRPC.NOT_FOUND },
  NOTICE_INVALID: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  /** Recorded, never returned: a party did not acknowledge a notice within 30 days of retries. */
  NOTICE_UNACKNOWLEDGED: { http: 504, grpc: GRPC.DEADLINE_EXCEEDED },
  // idempotency and state
  /** A callback URL not at an origin the platform registered, not http(s), or at an internal address. */
  CALLBACK_URL_REFUSED: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  IDEMPOTENCY_KEY_MISSING: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  IDEMPOTENCY_KEY_REUSED: { http: 409, grpc: GRPC.ALREADY_EXISTS },
  APPLICATION_NOT_FOUND: { http: 404, grpc: GRPC.NOT_FOUND },
  ENDPOINT_NOT_FOUND: { http: 404, grpc: GRPC.UNIMPLEMENTED },
  EVIDENCE_NOT_YET_WITNESSED: { http: 409, grpc: GRPC.FAILED_PRECONDITION },
  /** A signed note or checkpoint that does not parse or verify (its reason in details). */
  CHECKPOINT_INVALID: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  /** A witness's submission is not exactly one cosignature/v1 line by its own key over that checkpoint. */
  COSIGNATURE_INVALID: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  DECISION_TOO_LATE: { http: 409, grpc: GRPC.FAILED_PRECONDITION },
  NO_ELIGIBLE_BANK: { http: 422, grpc: GRPC.FAILED_PRECONDITION },
  REDIRECT_TOKEN_INVALID: { http: 401, grpc: GRPC.UNAUTHENTICATED },
  REDIRECT_TOKEN_EXPIRED: { http: 410, grpc: GRPC.FAILED_PRECONDITION },
  REDIRECT_TOKEN_USED: { http: 409, grpc: GRPC.ALREADY_EXISTS },
  // delivery
  PARTY_UNAVAILABLE: { http: 503, grpc: GRPC.UNAVAILABLE },
  /** A channel or bank answered with something that cannot be taken: a gRPC error without a dzl code, no receipt. */
  PARTY_ANSWER_INVALID: { http: 502, grpc: GRPC.DATA_LOSS },
  /** A published directory (§23) that does not verify against the trust roots, or is older than the one held. */
  DIRECTORY_INVALID: { http: 502, grpc: GRPC.DATA_LOSS },
  INTERNAL: { http: 500, grpc: GRPC.INTERNAL },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}
