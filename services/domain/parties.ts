/** Who takes part in the network, and what each of a party's certificates is for. */
export const PARTY_ROLES = ['platform', 'channel', 'bank', 'router', 'regulator'] as const;
export type PartyRole = (typeof PARTY_ROLES)[number];

/** sig: hop, receipt and request signatures; enc: content-key wrapping; tls: mutual TLS on gRPC. */
export const CERTIFICATE_USAGES = ['sig', 'enc', 'tls'] as const;
export type CertificateUsage = (typeof CERTIFICATE_USAGES)[number];

export function isPartyRole(v: unknown): v is PartyRole {
  return typeof v === 'string' && (PARTY_ROLES as readonly string[]).includes(v);
}
