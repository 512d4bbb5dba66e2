/** The leaves of the evidence log: one fact each, as canonical JSON. */
import type { ErrorCode } from '../domain/errorCodes';
import type { ConsentLeaf, PartyLeaf } from './bundle';
import type { ConsentStateLeaf, DeletionLeaf, NoticeLeaf } from './lifecycle';

export interface HopLeaf {
  type: 'hop';
  recordedAt: string;
  header: string;
  signature: string;
}

export interface ReceiptLeaf {
  type: 'receipt';
  recordedAt: string;
  hopId: string;
  receipt: string;
  signature: string;
}

export interface RefusalLeaf {
  type: 'refusal';
  recordedAt: string;
  code: ErrorCode;
  message: string;
  /** Where the refusal happened: intake, delivery to a party, a party's own check. */
  stage: string;
  refusedBy: string;
  applicationId?: string;
  hopId?: string;
  headerDigest?: string;
  from?: string;
  to?: string;
}

export type Leaf = HopLeaf | ReceiptLeaf | RefusalLeaf | PartyLeaf | ConsentLeaf | ConsentStateLeaf | NoticeLeaf | DeletionLeaf;

