/**
 * The evidence bundle a regulator pulls and verifies offline (format dzl-evidence-bundle/v1).
 * Self-contained JSON: the leaves, their inclusion proofs, the checkpoint they are proven
 * against (a signed note, with any witness cosignatures), and every certificate the leaves name.
 * A verifier needs nothing else but its trust roots: the network CA, the router's note key and,
 * if it requires them, witnesses' keys.
 */

import { Type, type Static } from '@sinclair/typebox';
import { Id, checker } from './schema';

export const BUNDLE_FORMAT = 'dzl-evidence-bundle/v1';

export const BundleScope = Type.Union([
  Type.Object({ kind: Type.Literal('application'), applicationId: Id }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('party'), partyId: Id, from: Type.String(), to: Type.String() }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('direct-connection-audit') }, { additionalProperties: false }),
]);
export type BundleScope = Static<typeof BundleScope>;

export const isBundleScope = checker(BundleScope);

export interface BundleLeaf {
  /** Position in the log (0-based). */
  index: number;
  /** base64url of the leaf's exact bytes (canonical JSON); its RFC 9162 leaf hash is in the tree. */
  data: string;
  /** base64url SHA-256 hashes: the RFC 9162 inclusion proof for `index` in the checkpoint's tree. Absent in a complete bundle. */
  proof?: string[];
}

export interface EvidenceBundle {
  format: typeof BUNDLE_FORMAT;
  scope: BundleScope;
  generatedAt: string;
  /** C2SP signed note: "<origin>\n<size>\n<base64 root>\n\n— <router key> …\n[— <witness> …\n]" */
  checkpoint: string;
  /**
   * True when `leaves` is the whole tree (indices 0..size-1 in order): the verifier recomputes
   * the root instead of checking proofs, and can then prove an absence (e.g. no platform → bank hop).
   */
  complete: boolean;
  leaves: BundleLeaf[];
  /** PEM certificates: every certificate a hop, receipt, notice or party leaf names by key id. */
  certificates: string[];
}

// The leaf formats are declared once, in ./leaves.ts.
export type { ConsentLeaf, PartyLeaf } from './leaves';
