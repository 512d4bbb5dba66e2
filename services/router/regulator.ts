/**
 * What a regulator may ask the router, in one place for HTTP and gRPC: checkpoints, consistency
 * proofs, evidence bundles, the direct-connection audit, and a witness's cosignature.
 * Every call is authenticated by a regulator's certificate (request signature or mutual TLS).
 */
import { DzlError } from '../common/errors';
import type { EvidenceBundle } from '../evidence/bundle';
import { applicationBundle, directConnectionAudit, partyBundle, type BundleOptions } from '../ledger/bundles';
import { addCosignature, latestCheckpoint, proveConsistency, publishCheckpoint, type LogConfig, type StoredCheckpoint } from '../ledger/log';
import type { LogTrust } from '../network/folder';
import type { NetworkDirectory } from '../registry/directory';
import { b64url } from '../seal/bytes';
import type { Db } from '../store/db';

export interface RegulatorDeps {
  db: Db;
  directory: () => NetworkDirectory;
  log: LogConfig;
  trust: LogTrust;
}

export interface CheckpointView {
  treeSize: number;
  checkpoint: string;
}

export function requireRegulator(deps: RegulatorDeps, party: string | undefined): string {
  if (!party || deps.directory().party(party)?.role !== 'regulator') {
    throw new DzlError('PARTY_ROLE_MISMATCH', `the regulator's API answers regulators only; ${party ?? 'an unauthenticated caller'} is not one`);
  }
  return party;
}

const view = (c: StoredCheckpoint): CheckpointView => ({ treeSize: c.treeSize, checkpoint: c.note });

export async function currentCheckpoint(deps: RegulatorDeps): Promise<CheckpointView> {
  return view((await latestCheckpoint(deps.db)) ?? (await publishCheckpoint(deps.db, deps.log)));
}

export async function checkpointNow(deps: RegulatorDeps): Promise<CheckpointView> {
  return view(await publishCheckpoint(deps.db, deps.log));
}

export async function consistency(deps: RegulatorDeps, from: number, to: number): Promise<{ from: number; to: number; proof: string[] }> {
  const latest = await latestCheckpoint(deps.db);
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || from > to || !latest || to > latest.treeSize) {
    throw new DzlError('REQUEST_MALFORMED', `consistency needs 0 ≤ from ≤ to ≤ ${latest?.treeSize ?? 0} (the latest checkpoint's size)`);
  }
  return { from, to, proof: (await proveConsistency(deps.db, from, to)).map((h) => b64url(h)) };
}

export async function cosign(deps: RegulatorDeps, regulator: string, size: number, line: string): Promise<CheckpointView> {
  const witness = deps.trust.witnesses.find((w) => w.partyId === regulator);
  if (!witness) throw new DzlError('PARTY_ROLE_MISMATCH', `${regulator} is not a registered witness of this log`);
  // refused with COSIGNATURE_INVALID and recorded by the log itself
  return view(await addCosignature(deps.db, size, typeof line === 'string' ? line : '', witness.vkey, regulator));
}

export function bundleForApplication(deps: RegulatorDeps, applicationId: string, opts: BundleOptions = {}): Promise<EvidenceBundle> {
  return applicationBundle(deps.db, deps.log, applicationId, opts);
}

export function bundleForParty(deps: RegulatorDeps, partyId: string, from: string | undefined, to: string | undefined, opts: BundleOptions = {}): Promise<EvidenceBundle> {
  deps.directory().requireParty(partyId);
  const f = from ? new Date(from) : new Date(0);
  const t = to ? new Date(to) : new Date();
  if (Number.isNaN(f.getTime()) || Number.isNaN(t.getTime()) || f > t) throw new DzlError('REQUEST_MALFORMED', 'from and to must be RFC 3339 timestamps with from ≤ to');
  return partyBundle(deps.db, deps.log, partyId, f, t, opts);
}

export function auditDirectConnections(deps: RegulatorDeps, opts: BundleOptions = {}): Promise<EvidenceBundle> {
  return directConnectionAudit(deps.db, deps.log, opts);
}
