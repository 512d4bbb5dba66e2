/** Refusals are evidence too: each is listed as a passed check, with its code and stage. */
import type { Checks } from './report';
import { leavesOfType, type DecodedLeaf } from './types';

export function listRefusals(leaves: DecodedLeaf[], checks: Checks): number {
  const refusals = leavesOfType(leaves, 'refusal');
  for (const { index, leaf: r } of refusals) {
    const what = r.hopId ? ` hop ${r.hopId}` : r.applicationId ? ` application ${r.applicationId}` : '';
    checks.pass(`refusal at index ${index}: ${r.code} at ${r.stage}`, `${r.refusedBy} refused${what}: ${r.message}`, index);
  }
  return refusals.length;
}
