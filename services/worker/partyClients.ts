import type * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { DzlError } from '../common/errors';
import { clientCredentials, loadDzlProtos } from '../grpc/transport';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';

/** One mutual-TLS gRPC client per party and endpoint, reused across deliveries. */
export class PartyClients {
  private readonly clients = new Map<string, grpc.Client>();

  constructor(private readonly router: PartyIdentity, private readonly directory: () => NetworkDirectory) {}

  private client(partyId: string, kind: 'ChannelService' | 'BankService'): grpc.Client {
    const endpoint = this.directory().requireParty(partyId).grpcEndpoint;
    if (!endpoint) throw new DzlError('PARTY_UNAVAILABLE', `party ${partyId} has no gRPC endpoint registered`, { party: partyId });
    const key = `${kind}:${partyId}@${endpoint}`;
    let c = this.clients.get(key);
    if (!c) {
      const Ctor = loadDzlProtos()[kind];
      // SNI may not carry an IP literal (RFC 6066): dev endpoints on 127.0.0.1 present 'localhost',
      // which their certificates also name; the party itself is checked by clientCredentials.
      const ipHost = isIP(endpoint.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')) !== 0;
      c = new Ctor(endpoint, clientCredentials(this.router, partyId), ipHost ? { 'grpc.ssl_target_name_override': 'localhost' } : {});
      this.clients.set(key, c);
    }
    return c;
  }

  channel(partyId: string): grpc.Client {
    return this.client(partyId, 'ChannelService');
  }

  bank(partyId: string): grpc.Client {
    return this.client(partyId, 'BankService');
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
