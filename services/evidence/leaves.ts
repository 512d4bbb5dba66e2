/**
 * The evidence leaves (contracts/envelope.md §20.1, §21), each declared once: the schema is the
 * format, `Static<>` of it is the type the ledger writes, and `decodeLeaf` is the check the
 * verifier applies. A leaf is canonical JSON (RFC 8785) of one of these objects and nothing more:
 * a member a format does not define makes the leaf malformed, so what a verifier accepts is
 * exactly what the router can have written.
 */
import { Type, type Static } from '@sinclair/typebox';
import { LEAF_KINDS, type LeafKind } from '../domain/leaves';
import { NOTICE_REASONS } from '../domain/notices';
import { PARTY_ROLES } from '../domain/parties';
import type { ErrorCode } from '../domain/errorCodes';
import { parseCanonical } from '../seal/canonical';
import { DateText, Digest, Id, OneOf, Timestamp, checker } from './schema';

const closed = { additionalProperties: false } as const;

/** A hop's signed header and its signature, base64url of the exact bytes (§20.1). */
export const HopLeaf = Type.Object({ type: Type.Literal('hop'), recordedAt: Timestamp, header: Type.String(), signature: Type.String() }, closed);
export type HopLeaf = Static<typeof HopLeaf>;

/** A recipient's signed receipt for a hop, or a party's acknowledgement of a notice (`hopId` = notice id). */
export const ReceiptLeaf = Type.Object({ type: Type.Literal('receipt'), recordedAt: Timestamp, hopId: Type.String(), receipt: Type.String(), signature: Type.String() }, closed);
export type ReceiptLeaf = Static<typeof ReceiptLeaf>;

/**
 * A refusal: typed as the domain's ErrorCode, checked by the code's form only, so a verifier
 * older than a router still reads refusals of codes added since.
 */
const RefusalCode = Type.Unsafe<ErrorCode>(Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,63}$' }));

export const RefusalLeaf = Type.Object(
  {
    type: Type.Literal('refusal'),
    recordedAt: Timestamp,
    code: RefusalCode,
    message: Type.String(),
    /** Where the refusal happened: intake, delivery to a party, a party's own check, a cosignature. */
    stage: Type.String(),
    refusedBy: Type.String(),
    applicationId: Type.Optional(Type.String()),
    hopId: Type.Optional(Type.String()),
    headerDigest: Type.Optional(Type.String()),
    from: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
  },
  closed,
);
export type RefusalLeaf = Static<typeof RefusalLeaf>;

export const ChannelLicenceRecord = Type.Object(
  { number: Type.String(), issuer: Type.String(), validFrom: DateText, validUntil: DateText, status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]) },
  closed,
);

/**
 * A registry snapshot: recorded whenever anything the directory publishes of a party changes —
 * role, legal name, licence, certificates, revocations, endpoints, a bank's terms (§20.1) — so
 * every directory version (§23) is a party leaf and the log says what each version held.
 */
export const PartyLeaf = Type.Object(
  {
    type: Type.Literal('party'),
    recordedAt: Timestamp,
    party: Type.Object(
      {
        id: Id,
        role: OneOf(PARTY_ROLES),
        legalName: Type.String(),
        licence: Type.Optional(ChannelLicenceRecord),
        /** Key ids (base64url SHA-256 of DER) of the party's certificates; PEMs travel in the bundle. */
        certificates: Type.Array(Type.String()),
        /** Revocation time by key id. */
        revoked: Type.Optional(Type.Record(Type.String(), Timestamp)),
        /** What the directory publishes besides: a channel's or bank's gRPC endpoint, a bank's page, a platform's callback origins. */
        grpcEndpoint: Type.Optional(Type.String()),
        webUrl: Type.Optional(Type.String()),
        callbackOrigins: Type.Optional(Type.Array(Type.String())),
        /** A bank's terms: its contracted channel and decision timeout (ms). */
        contractedChannel: Type.Optional(Id),
        decisionTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      closed,
    ),
  },
  closed,
);
export type PartyLeaf = Static<typeof PartyLeaf>;

/** The consent as the platform (or, redirect model, the bank) declared it (consent/consent.ts Consent). */
export const ConsentRecord = Type.Object(
  {
    id: Id,
    platformId: Id,
    textVersion: Type.String(),
    textSha256: Type.String(),
    purposes: Type.Array(Type.String()),
    recipients: Type.Array(Type.String()),
    grantedAt: Timestamp,
    expiresAt: Timestamp,
    createdBy: Type.Optional(Id),
    applicationId: Type.Optional(Id),
    actedAt: Type.Optional(Timestamp),
    deviceDigest: Type.Optional(Digest),
  },
  closed,
);

export const ConsentLeaf = Type.Object({ type: Type.Literal('consent'), recordedAt: Timestamp, consent: ConsentRecord }, closed);
export type ConsentLeaf = Static<typeof ConsentLeaf>;

/** A consent's change of state, appended to its history; a consent is granted when recorded. */
export const ConsentStateLeaf = Type.Object(
  {
    type: Type.Literal('consent_state'),
    recordedAt: Timestamp,
    consentId: Id,
    state: Type.Union([Type.Literal('withdrawn'), Type.Literal('expired')]),
    /** The recipients the change applies to (separate consent per recipient); absent: all of them. */
    recipients: Type.Optional(Type.Array(Id, { minItems: 1 })),
    /** Who recorded it: the party that created the consent (withdrawal), or `router` (expiry). */
    by: Id,
    /** When the customer acted (withdrawal) or the validity ended (expiry). */
    at: Timestamp,
    /** base64url SHA-256 of the customer's device identifier at withdrawal (as the party hashed it). */
    deviceDigest: Type.Optional(Digest),
  },
  closed,
);
export type ConsentStateLeaf = Static<typeof ConsentStateLeaf>;

/** The router's signed notice to a party (its bytes are a NoticeBody, evidence/notice.ts). */
export const NoticeLeaf = Type.Object({ type: Type.Literal('notice'), recordedAt: Timestamp, notice: Type.String(), signature: Type.String() }, closed);
export type NoticeLeaf = Static<typeof NoticeLeaf>;

/** The router erased the sealed payloads (wrapped key, iv, ciphertext) of these hops; headers stay. */
export const DeletionLeaf = Type.Object({ type: Type.Literal('deletion'), recordedAt: Timestamp, applicationId: Id, reason: OneOf(NOTICE_REASONS), hops: Type.Array(Id) }, closed);
export type DeletionLeaf = Static<typeof DeletionLeaf>;

export type Leaf = HopLeaf | ReceiptLeaf | RefusalLeaf | PartyLeaf | ConsentLeaf | ConsentStateLeaf | NoticeLeaf | DeletionLeaf;

/** The schema of each leaf kind: the kinds are the domain's, so a new kind fails to compile here until it has a format. */
export const LEAF_SCHEMAS = {
  hop: HopLeaf,
  receipt: ReceiptLeaf,
  refusal: RefusalLeaf,
  party: PartyLeaf,
  consent: ConsentLeaf,
  consent_state: ConsentStateLeaf,
  notice: NoticeLeaf,
  deletion: DeletionLeaf,
} as const satisfies Record<LeafKind, unknown>;

const CHECKS = Object.fromEntries(LEAF_KINDS.map((k) => [k, checker(LEAF_SCHEMAS[k])])) as { [K in LeafKind]: ReturnType<typeof checker<(typeof LEAF_SCHEMAS)[K]>> };

export type LeafProblemCode = 'LEAF_NOT_CANONICAL' | 'LEAF_TYPE_UNKNOWN' | 'LEAF_MALFORMED';

export type DecodedLeafResult = { ok: true; leaf: Leaf } | { ok: false; code: LeafProblemCode; reason: string };

/** Whether `value` is exactly a leaf of `kind` (the ledger checks what it writes with this too). */
export function isLeafOf<K extends LeafKind>(kind: K, value: unknown): value is Static<(typeof LEAF_SCHEMAS)[K]> {
  return CHECKS[kind](value);
}

/** The leaf the bytes encode, or why they encode none. */
export function decodeLeaf(data: Uint8Array): DecodedLeafResult {
  const parsed = parseCanonical(data);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, code: 'LEAF_NOT_CANONICAL', reason: 'data is not canonical JSON of an object' };
  const type = (parsed as { type?: unknown }).type;
  if (typeof type !== 'string' || !(LEAF_KINDS as readonly string[]).includes(type)) {
    return { ok: false, code: 'LEAF_TYPE_UNKNOWN', reason: `data is not a known leaf type (type ${JSON.stringify(type)})` };
  }
  const check = CHECKS[type as LeafKind];
  if (!check(parsed)) return { ok: false, code: 'LEAF_MALFORMED', reason: `${type} leaf ${check.problem()}` };
  return { ok: true, leaf: parsed as Leaf };
}
