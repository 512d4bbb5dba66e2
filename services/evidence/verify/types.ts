/** What the stages hand each other, and what a caller gives and gets. */
import type { CertificateInfo } from '../../pki/certificate';
import type { NetworkDirectory } from '../../registry/directory';
import type { HopHeader } from '../../seal/hop';
import type { BundleScope } from '../bundle';
import type { ConsentStateLeaf, Leaf } from '../leaves';
import type { NoticeBody } from '../notice';
import type { VerifyCheck } from './report';

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isString = (v: unknown): v is string => typeof v === 'string';
export const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** A credit_report's credit product or a decision's model, as its sender's signed header names it. */
export interface HopProvenance {
  hopId: string;
  applicationId: string;
  kind: HopHeader['kind'];
  from: string;
  name: string;
  version: string;
}

export interface VerifySummary {
  leaves: number;
  hops: number;
  /** Receipt leaves for hops (and any naming neither a hop nor a notice); acknowledgements are counted apart. */
  receipts: number;
  refusals: number;
  parties: number;
  consents: number;
  /** consent_state leaves by state. */
  withdrawals: number;
  expiries: number;
  notices: number;
  /** Receipt leaves whose hopId is a notice of the bundle: a party's answer to a notice, never a sight of fields. */
  acknowledgements: number;
  deletions: number;
  /** Hops whose header names a provenance, in leaf order. */
  provenance: HopProvenance[];
  witnessedBy: string[];
}

export interface VerifyReport {
  ok: boolean;
  scope?: BundleScope;
  treeSize?: number;
  checks: VerifyCheck[];
  /** The reasons of the failed checks, in check order. */
  failures: string[];
  /** The codes of the failed checks, in check order (one per failure). */
  codes: VerifyCheck['code'][];
  summary: VerifySummary;
}

/**
 * Certificate parses and registry snapshots are pure functions of their inputs and cost
 * milliseconds each (node-forge checks the CA signature in JavaScript). A caller verifying many
 * bundles against the same CA can pass one cache to all of them; keys are the exact inputs.
 */
export interface VerifierCache {
  certificates: Map<string, CertificateInfo | string>;
  directories: Map<string, NetworkDirectory | string>;
}

export function createVerifierCache(): VerifierCache {
  return { certificates: new Map(), directories: new Map() };
}

export interface VerifyInput {
  bundle: unknown;
  caPem: string;
  routerVkey: string;
  /** The log's origin line, pinned with its key: a checkpoint of another log under the same key fails. */
  origin: string;
  /** Witness vkeys that must have cosigned the checkpoint. */
  requireWitnesses?: string[];
  onProgress?: (done: number, total: number) => void;
  cache?: VerifierCache;
}

export interface RawLeaf {
  index: number;
  data: Buffer;
  proof?: string[];
}

export interface Shape {
  scope?: BundleScope;
  checkpoint?: string;
  complete: boolean;
  /** The leaf entries that are well formed; malformed ones are reported and set aside. */
  leaves: RawLeaf[];
  leafEntries: number;
  certificates: string[];
}

export interface DecodedLeaf {
  index: number;
  data: Buffer;
  leaf: Leaf;
}

export interface VerifiedHop {
  index: number;
  header: HopHeader;
  headerDigest: string;
}

export interface StateChange {
  index: number;
  leaf: ConsentStateLeaf;
}

export interface VerifiedNotice {
  index: number;
  body: NoticeBody;
  digest: string;
}

/** The leaves of one type, narrowed. */
export function leavesOfType<T extends Leaf['type']>(leaves: DecodedLeaf[], type: T): { index: number; data: Buffer; leaf: Extract<Leaf, { type: T }> }[] {
  return leaves.filter((l) => l.leaf.type === type) as { index: number; data: Buffer; leaf: Extract<Leaf, { type: T }> }[];
}
