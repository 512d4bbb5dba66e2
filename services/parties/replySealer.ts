/**
 * The hop a party answers with — a channel's credit report, a bank's decision or disbursement —
 * sealed for its recipient as a child of the hop it answers: same application, model, platform,
 * channel, consent and salt (so the field digests link across the application's hops).
 */
import type { HopKind } from '../domain/hops';
import { classOf } from '../fields/catalogue';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import { sealHop, type DecisionOutcome, type Fields, type OpenedHop, type Provenance, type SealedResult } from '../seal/hop';

export interface Reply {
  kind: HopKind;
  to: string;
  fields: Fields;
  /** The hop this one answers (by default, the opened hop itself). */
  parentHopId?: string;
  outcome?: DecisionOutcome;
  provenance?: Provenance;
  /** The channel the reply names (a channel's own reply names itself). */
  channel?: string;
}

export function sealReply(me: PartyIdentity, directory: NetworkDirectory, parent: OpenedHop, reply: Reply): SealedResult {
  const { header } = parent;
  return sealHop(me.signing, {
    parentHopId: reply.parentHopId ?? header.hopId,
    applicationId: header.applicationId,
    kind: reply.kind,
    model: header.model,
    to: directory.encryptionCertificate(reply.to),
    platform: header.platform,
    channel: reply.channel ?? header.channel,
    consentRef: header.consentRef,
    fields: reply.fields,
    salt: parent.salt,
    classOf,
    ...(reply.outcome ? { outcome: reply.outcome } : {}),
    ...(reply.provenance ? { provenance: reply.provenance } : {}),
  });
}
