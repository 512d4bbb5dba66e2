/** (f) Each hop's header is signed by its sender's certificate as the registry stood, and names an encryption key of its recipient. */
import { fromB64url } from '../../seal/bytes';
import { certificateValidAt, decodeHeader, headerDigestOf, verifySender, type HopHeader } from '../../seal/hop';
import type { BundleScope } from '../bundle';
import type { Registry } from './registry';
import { explain, type Checks, type Progress } from './report';
import { leavesOfType, type DecodedLeaf, type HopProvenance, type VerifiedHop } from './types';

export function checkHops(leaves: DecodedLeaf[], scope: BundleScope | undefined, registry: Registry, checks: Checks, progress: Progress): Map<string, VerifiedHop> {
  const mark = checks.list.length;
  const hops = new Map<string, VerifiedHop>();
  for (const { index, leaf } of leavesOfType(leaves, 'hop')) {
    progress.advance();
    const headerBytes = fromB64url(leaf.header);
    const signature = fromB64url(leaf.signature);
    if (!headerBytes || !signature) {
      checks.fail('HOP_ENCODING_INVALID', 'hop signature', `leaf ${index}: hop header or signature is not canonical base64url`, index);
      continue;
    }
    let header: HopHeader;
    try {
      header = decodeHeader(headerBytes);
    } catch (err) {
      checks.fail('HOP_HEADER_INVALID', 'hop header', `leaf ${index}: hop header: ${explain(err)}`, index, err);
      continue;
    }
    const label = `leaf ${index} (hop ${header.hopId})`;
    const earlier = hops.get(header.hopId);
    if (earlier) {
      checks.fail('HOP_DUPLICATE', 'hop header', `${label}: hop id already recorded at leaf ${earlier.index}`, index);
      continue;
    }
    hops.set(header.hopId, { index, header, headerDigest: headerDigestOf(headerBytes) });
    if (scope?.kind === 'application' && header.applicationId !== scope.applicationId) {
      checks.fail('HOP_OUT_OF_SCOPE', 'hop scope', `${label}: belongs to application ${header.applicationId}, outside the bundle's scope ${scope.applicationId}`, index);
    }
    const dir = registry.asOf(index);
    if (!dir) {
      checks.fail('HOP_NO_REGISTRY', 'hop signature', `${label}: no registry to verify the sender against`, index);
      continue;
    }
    try {
      verifySender(header, headerBytes, signature, dir.signerOf);
    } catch (err) {
      checks.fail('HOP_SIGNATURE_INVALID', 'hop signature', `${label}: ${explain(err)}`, index, err);
    }
    const enc = dir.certificate(header.recipientKeyId);
    const at = new Date(header.issuedAt);
    if (!enc || enc.usage !== 'enc' || enc.partyId !== header.to || !certificateValidAt(enc, at)) {
      checks.fail('HOP_RECIPIENT_KEY_INVALID', 'hop recipient key', `${label}: recipientKeyId ${header.recipientKeyId} is not an encryption certificate of ${header.to} valid at ${header.issuedAt}`, index);
    }
  }
  if (checks.failuresSince(mark) === 0) checks.pass('hop signature', `${hops.size} hops signed by their senders' registered certificates`);
  return hops;
}

/** The credit products and decision models the hops name, in leaf order (PIPL Art. 24). */
export function provenanceOf(hops: Map<string, VerifiedHop>): HopProvenance[] {
  return [...hops.values()]
    .filter((h) => h.header.provenance !== undefined)
    .sort((a, b) => a.index - b.index)
    .map(({ header: h }) => ({ hopId: h.hopId, applicationId: h.applicationId, kind: h.kind, from: h.from, name: h.provenance!.name, version: h.provenance!.version }));
}
