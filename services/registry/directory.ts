/**
 * The party registry as every participant sees it: who is who (role, legal name, endpoints),
 * which certificates they hold, and for a channel its credit-reporting licence. The router
 * keeps it in its database; reference parties read the network file the operator publishes.
 */
import { DzlError } from '../common/errors';
import type { PartyRole } from '../pki/ca';
import { parseCertificate, type CertificateInfo } from '../pki/certificate';
import { certificateValidAt, type RecipientCertificate, type SignerCertificate } from '../seal/hop';

export interface ChannelLicence {
  number: string;
  issuer: string;
  validFrom: string;
  validUntil: string;
  status: 'active' | 'revoked';
}

export interface PartyRecord {
  id: string;
  role: PartyRole;
  legalName: string;
  grpcEndpoint?: string;
  callbackUrl?: string;
  /** A platform's: the origins (scheme://host:port) its callback URLs may be at. */
  callbackOrigins?: string[];
  /** A bank's application page (H5) for the direct-redirect model. */
  webUrl?: string;
  licence?: ChannelLicence;
  /** A bank's: the licensed channel it takes credit reports through. */
  contractedChannel?: string;
  /** A bank's: how long it may take to decide after a credit report is delivered (ms). */
  decisionTimeoutMs?: number;
  certificates: string[];
  /** Revocation times by key id: what a revoked key signed before this time still verifies. */
  revoked?: Record<string, string>;
}

export interface Party extends Omit<PartyRecord, 'certificates' | 'revoked'> {
  certificates: CertificateInfo[];
}

export class NetworkDirectory {
  private readonly parties = new Map<string, Party>();
  private readonly byKeyId = new Map<string, CertificateInfo>();

  /**
   * `version`: the registry's change count this directory was read at (a router's or worker's
   * copy of its store); custody compares it with the store's under a lock (custody.ts).
   */
  constructor(readonly caPem: string, records: PartyRecord[], readonly version?: number) {
    for (const r of records) {
      const certificates = r.certificates.map((pem) => {
        const c = parseCertificate(pem, caPem);
        const revokedAt = r.revoked?.[c.keyId];
        return revokedAt ? { ...c, revokedAt: new Date(revokedAt) } : c;
      });
      for (const c of certificates) {
        if (c.partyId !== r.id || c.role !== r.role) {
          throw new Error(`certificate ${c.keyId} names ${c.partyId}/${c.role}, registered under ${r.id}/${r.role}`);
        }
        this.byKeyId.set(c.keyId, c);
      }
      const { revoked: _revoked, ...rest } = r;
      this.parties.set(r.id, { ...rest, certificates });
    }
  }

  all(): Party[] {
    return [...this.parties.values()];
  }

  party(id: string): Party | undefined {
    return this.parties.get(id);
  }

  requireParty(id: string, role?: PartyRole): Party {
    const p = this.parties.get(id);
    if (!p) throw new DzlError('PARTY_UNKNOWN', `party ${id} is not registered in the network`, { party: id });
    if (role && p.role !== role) {
      throw new DzlError('PARTY_ROLE_MISMATCH', `party ${id} is a ${p.role}, not a ${role}`, { party: id });
    }
    return p;
  }

  /** Signing certificates only: an encryption or TLS key never signs a hop. */
  readonly signerOf = (keyId: string): SignerCertificate | undefined => {
    const c = this.byKeyId.get(keyId);
    return c && c.usage === 'sig' ? c : undefined;
  };

  certificate(keyId: string): CertificateInfo | undefined {
    return this.byKeyId.get(keyId);
  }

  /** The newest encryption certificate of the party valid at `at`. */
  encryptionCertificate(partyId: string, at: Date = new Date()): RecipientCertificate {
    const p = this.requireParty(partyId);
    const valid = p.certificates
      .filter((c) => c.usage === 'enc' && c.notBefore <= at && at <= c.notAfter && !c.revokedAt)
      .sort((a, b) => b.notBefore.getTime() - a.notBefore.getTime());
    const c = valid[0];
    if (!c) throw new DzlError('HOP_CERTIFICATE_INVALID', `party ${partyId} has no valid encryption certificate`, { party: partyId });
    return c;
  }

  /**
   * The party behind a mutual-TLS caller, by the key id of the certificate it presented: a `tls`
   * certificate registered in the registry, in force and not revoked now, of a party whose role may
   * call (envelope.md §16.1). Checked on every call, so a revocation ends access on open connections
   * too, as soon as the registry is reloaded.
   */
  tlsCaller(keyId: string | undefined, roles: readonly PartyRole[], at: Date = new Date()): Party {
    const c = keyId ? this.byKeyId.get(keyId) : undefined;
    if (!c || c.usage !== 'tls') throw new DzlError('REQUEST_UNAUTHENTICATED', 'the TLS client certificate is not a registered tls certificate of any party');
    if (!certificateValidAt(c, at)) throw new DzlError('REQUEST_UNAUTHENTICATED', `the TLS client certificate of ${c.partyId} is revoked or not in force`, { party: c.partyId });
    const party = this.requireParty(c.partyId);
    if (!roles.includes(party.role)) throw new DzlError('PARTY_ROLE_MISMATCH', `${party.id} is a ${party.role}; this method is for ${roles.join(' or ')}`, { party: party.id });
    return party;
  }

  /** The origins a platform's callback URLs may be at: those it registered, or its registered callback URL's. */
  callbackOriginsOf(partyId: string): string[] {
    const p = this.parties.get(partyId);
    if (!p) return [];
    if (p.callbackOrigins?.length) return p.callbackOrigins;
    try {
      return p.callbackUrl ? [new URL(p.callbackUrl).origin] : [];
    } catch {
      return [];
    }
  }

  /** The channel a bank takes its credit reports through (its contract), licensed now. */
  channelOfBank(bankId: string, at: Date = new Date()): string {
    const bank = this.requireParty(bankId, 'bank');
    if (!bank.contractedChannel) {
      throw new DzlError('ROUTE_NOT_ALLOWED', `bank ${bankId} has no contracted credit-reporting channel registered`, { party: bankId });
    }
    this.checkChannelLicence(bank.contractedChannel, at);
    return bank.contractedChannel;
  }

  /** A channel may carry personal credit information only while its licence is active. */
  checkChannelLicence(channelId: string, at: Date = new Date()): Party {
    const p = this.requireParty(channelId);
    const l = p.licence;
    if (p.role !== 'channel' || !l) {
      throw new DzlError('CHANNEL_NOT_LICENSED', `${channelId} is not a licensed credit-reporting channel`, { party: channelId });
    }
    if (l.status !== 'active') {
      throw new DzlError('CHANNEL_NOT_LICENSED', `licence ${l.number} of ${channelId} is ${l.status}`, { party: channelId });
    }
    if (at < new Date(l.validFrom) || at > new Date(l.validUntil)) {
      throw new DzlError('CHANNEL_NOT_LICENSED', `licence ${l.number} of ${channelId} is valid ${l.validFrom} to ${l.validUntil}, not at ${at.toISOString()}`, {
        party: channelId,
      });
    }
    return p;
  }
}
