import type { RecipientIdentity, SigningIdentity } from '../seal/hop';

/** A party's own keys: what it signs with, what it opens hops with, and its mutual-TLS pair. */
export interface PartyIdentity {
  partyId: string;
  signing: SigningIdentity;
  recipient: RecipientIdentity;
  tls: { keyPem: string; certPem: string };
  caPem: string;
}
