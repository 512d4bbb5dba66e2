import type * as grpc from '@grpc/grpc-js';
import { DzlError } from '../common/errors';
import { clientCredentials, loadDzlProtos } from '../grpc/transport';
import type { PartyIdentity } from '../pki/network';
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
      c = new Ctor(endpoint, clientCredentials(this.router, partyId));
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
