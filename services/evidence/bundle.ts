/**
 * The evidence bundle a regulator pulls and verifies offline (format dzl-evidence-bundle/v1).
 * Self-contained JSON: the leaves, their inclusion proofs, the checkpoint they are proven
 * against (a signed note, with any witness cosignatures), and every certificate the leaves name.
 * A verifier needs nothing else but its trust roots: the network CA, the router's note key and,
 * if it requires them, witnesses' keys.
 */
import type { Consent } from '../consent/consent';
import type { PartyRole } from '../pki/ca';
import type { ChannelLicence } from '../registry/directory';

export const BUNDLE_FORMAT = 'dzl-evidence-bundle/v1';

export type BundleScope =
  | { kind: 'application'; applicationId: string }
  | { kind: 'party'; partyId: string; from: string; to: string }
  | { kind: 'direct-connection-audit' };

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

/** A registry snapshot: recorded whenever a party's role, licence or certificates change. */
export interface PartyLeaf {
  type: 'party';
  recordedAt: string;
  party: {
    id: string;
    role: PartyRole;
    legalName: string;
    licence?: ChannelLicence;
    /** Key ids (base64url SHA-256 of DER) of the party's certificates; PEMs travel in the bundle. */
    certificates: string[];
    /** Revocation time by key id. */
    revoked?: Record<string, string>;
  };
}

/** The consent an application was accepted under, as the platform declared it. */
export interface ConsentLeaf {
  type: 'consent';
  recordedAt: string;
  consent: Consent;
}
