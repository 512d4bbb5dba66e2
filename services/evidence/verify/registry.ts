/** The registry as the bundle's party leaves say it stood at each leaf: every later check asks it. */
import type { PartyRole } from '../../domain/parties';
import { NetworkDirectory, type PartyRecord } from '../../registry/directory';
import { canonicalJson } from '../../seal/canonical';
import type { Checks } from './report';
import type { VerifierCache } from './types';

interface PartySnapshot {
  index: number;
  record: PartyRecord;
}

export class Registry {
  private readonly snapshots = new Map<string, PartySnapshot[]>();
  /** This bundle's registries, by the party leaves they are built from. */
  private readonly byLabel = new Map<string, NetworkDirectory | string>();

  constructor(
    private readonly caPem: string,
    private readonly cache: VerifierCache,
    private readonly checks: Checks,
  ) {}

  add(snapshot: PartySnapshot): void {
    const list = this.snapshots.get(snapshot.record.id) ?? [];
    list.push(snapshot);
    this.snapshots.set(snapshot.record.id, list);
  }

  get partyCount(): number {
    return this.snapshots.size;
  }

  /** Every party as its latest snapshot recorded below `index` said. */
  asOf(index: number): NetworkDirectory | undefined {
    const latest: PartySnapshot[] = [];
    for (const list of this.snapshots.values()) {
      let found: PartySnapshot | undefined;
      for (const s of list) if (s.index < index && (!found || s.index > found.index)) found = s;
      if (found) latest.push(found);
    }
    const label = latest.map((s) => s.index).sort((a, b) => a - b).join(',');
    let dir = this.byLabel.get(label);
    if (dir === undefined) {
      dir = this.build(latest.map((s) => s.record).sort((a, b) => (a.id < b.id ? -1 : 1)));
      this.byLabel.set(label, dir);
      if (typeof dir === 'string') this.checks.fail('REGISTRY_INVALID', 'registry', `registry of party leaves ${label || '(none)'}: ${dir}`);
    }
    return typeof dir === 'string' ? undefined : dir;
  }

  private build(records: PartyRecord[]): NetworkDirectory | string {
    const key = `${this.caPem}\n${canonicalJson(records).toString('utf8')}`;
    let dir = this.cache.directories.get(key);
    if (dir === undefined) {
      try {
        dir = new NetworkDirectory(this.caPem, records);
      } catch (err) {
        dir = err instanceof Error ? err.message : String(err);
      }
      this.cache.directories.set(key, dir);
    }
    return dir;
  }
}

export function roleOf(dir: NetworkDirectory | undefined, partyId: string): PartyRole | undefined {
  return dir?.party(partyId)?.role;
}
