import type { Logger } from '../common/logger';
import type { OutboundPolicy } from '../outbound/outbound';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import type { NonceStore } from '../seal/replay';
import type { Db } from '../store/db';
import type { PartyClients } from './partyClients';

/** What the worker's activities are built from (createActivities). */
export interface ActivityDeps {
  db: Db;
  directory: () => NetworkDirectory;
  /** Rereads the directory from the store (custody.ts: a hop is checked against the registry as it stands). */
  refreshDirectory?: () => Promise<NetworkDirectory>;
  nonces: NonceStore;
  router: PartyIdentity;
  parties: PartyClients;
  log: Logger;
  deliveryTimeoutMs?: number;
  /** The longest the retention sweeper sleeps between sweeps (it wakes sooner when one is due). */
  retentionSweepMs?: number;
  /** Where callbacks may go (internal addresses only when the operator allows). */
  outbound: OutboundPolicy;
}
