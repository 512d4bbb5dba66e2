/**
 * (g) Each receipt for a hop is signed by the hop's recipient over its header digest. Receipts
 * naming a notice are acknowledgements: set aside here, checked once the notices are (notices.ts).
 */
import { verifyReceipt } from '../../seal/receipt';
import type { Registry } from './registry';
import { explain, type Checks, type Progress } from './report';
import type { DecodedLeaf, VerifiedHop } from './types';

export interface ReceiptsResult {
  /** Receipt leaves for hops, and those naming neither a hop nor a notice. */
  count: number;
  /** Receipt leaves naming a notice. */
  acknowledgements: DecodedLeaf[];
}

export function checkReceipts(leaves: DecodedLeaf[], hops: Map<string, VerifiedHop>, noticeIds: Set<string>, registry: Registry, checks: Checks, progress: Progress): ReceiptsResult {
  const mark = checks.list.length;
  const out: ReceiptsResult = { count: 0, acknowledgements: [] };
  for (const entry of leaves) {
    const { index, leaf } = entry;
    if (leaf.type !== 'receipt') continue;
    const hop = hops.get(leaf.hopId);
    if (!hop && noticeIds.has(leaf.hopId)) {
      out.acknowledgements.push(entry);
      continue;
    }
    out.count++;
    progress.advance();
    if (!hop) {
      checks.fail('RECEIPT_ORPHAN', 'receipt', `leaf ${index}: receipt names a hop or notice not in the bundle (${leaf.hopId})`, index);
      continue;
    }
    const dir = registry.asOf(index);
    if (!dir) {
      checks.fail('RECEIPT_NO_REGISTRY', 'receipt', `leaf ${index} (receipt for hop ${leaf.hopId}): no registry to verify the recipient against`, index);
      continue;
    }
    try {
      verifyReceipt({ receipt: leaf.receipt, signature: leaf.signature }, { hopId: hop.header.hopId, headerDigest: hop.headerDigest, by: hop.header.to }, dir.signerOf);
    } catch (err) {
      checks.fail('RECEIPT_INVALID', 'receipt', `leaf ${index} (receipt for hop ${leaf.hopId}): ${explain(err)}`, index, err);
    }
  }
  if (checks.failuresSince(mark) === 0) checks.pass('receipt', `${out.count} receipts signed by their hops' recipients`);
  return out;
}
