/** (o) Erasure: each deletion names hops of its own application, once each. */
import type { BundleScope } from '../bundle';
import type { Checks, Progress } from './report';
import { leavesOfType, type DecodedLeaf, type VerifiedHop } from './types';

export function checkDeletions(leaves: DecodedLeaf[], scope: BundleScope | undefined, closed: boolean, hops: Map<string, VerifiedHop>, checks: Checks, progress: Progress): number {
  const mark = checks.list.length;
  const deletions = leavesOfType(leaves, 'deletion');
  for (const { index, leaf: d } of deletions) {
    progress.advance();
    const label = `leaf ${index} (deletion for application ${d.applicationId})`;
    if (scope?.kind === 'application' && d.applicationId !== scope.applicationId) {
      checks.fail('DELETION_OUT_OF_SCOPE', 'deletion scope', `${label}: outside the bundle's scope ${scope.applicationId}`, index);
    }
    const seen = new Set<string>();
    for (const hopId of d.hops) {
      if (seen.has(hopId)) checks.fail('DELETION_HOP_DUPLICATE', 'deletion', `${label}: names hop ${hopId} twice`, index);
      seen.add(hopId);
      if (!closed) continue;
      const hop = hops.get(hopId);
      if (!hop) checks.fail('DELETION_HOP_MISSING', 'deletion', `${label}: names hop ${hopId}, which is not a hop of the bundle`, index);
      else if (hop.header.applicationId !== d.applicationId) checks.fail('DELETION_HOP_MISMATCH', 'deletion', `${label}: names hop ${hopId} of application ${hop.header.applicationId}`, index);
    }
  }
  if (deletions.length > 0 && checks.failuresSince(mark) === 0) checks.pass('deletion', `${deletions.length} deletions, each naming hops of its own application`);
  return deletions.length;
}
