/**
 * The published directory as a party process holds it (envelope.md §23): fetched from the
 * router's `GET /v1/directory` with the party's own request signature, verified against the
 * network's trust root (`ca.crt` in the party's folder) and against the copy already held, kept in
 * the folder (`directory.json`) and refreshed on a timer. What the party verifies senders with,
 * picks recipients' encryption keys from and learns revocations from is always the last document
 * that verified: a failed or refused refresh keeps it, and says so once in the log.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { DzlError, toDzlError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { PartyIdentity } from '../pki/identity';
import type { NetworkDirectory } from '../registry/directory';
import { fetchDirectory, verifyPublishedDirectory, type DirectoryBody, type VerifiedDirectory } from '../registry/published';

export interface DirectoryClientOptions {
  routerUrl: string;
  identity: PartyIdentity;
  /** Where the last verified document is kept (a restart starts from it when the router is away). */
  cacheFile?: string;
  /** How often to refresh (ms): the longest a revocation goes unnoticed. */
  refreshMs?: number;
  /** How long to wait for a first directory at start when none is cached (ms). */
  startTimeoutMs?: number;
  /** How long a copy is used without a refresh that verifies (ms): after that the party stops (fails closed). */
  maxAgeMs?: number;
  log?: Logger;
}

export class DirectoryClient {
  private held: VerifiedDirectory;
  private timer?: NodeJS.Timeout;
  private failing?: string;

  /** When a document last verified (the cached one at start counts from the start). */
  private verifiedAt = Date.now();

  private constructor(private readonly opts: DirectoryClientOptions, first: VerifiedDirectory) {
    this.held = first;
  }

  /** A verified directory to start from: the cached one, refreshed if the router answers, or the router's within `startTimeoutMs`. */
  static async open(opts: DirectoryClientOptions): Promise<DirectoryClient> {
    const caPem = opts.identity.caPem;
    let cached: VerifiedDirectory | undefined;
    if (opts.cacheFile && existsSync(opts.cacheFile)) {
      try {
        cached = verifyPublishedDirectory(JSON.parse(readFileSync(opts.cacheFile, 'utf8')), caPem);
      } catch (err) {
        opts.log?.warn({ code: toDzlError(err).code }, 'the cached directory does not verify; fetching a new one');
      }
    }
    const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
    for (;;) {
      try {
        const doc = await fetchDirectory(opts.routerUrl, opts.identity.signing);
        const fresh = verifyPublishedDirectory(doc, caPem, cached?.body);
        const client = new DirectoryClient(opts, fresh);
        client.keep(doc);
        client.start();
        return client;
      } catch (err) {
        if (cached) {
          opts.log?.warn({ code: toDzlError(err).code }, 'the router did not give a directory; starting from the cached one');
          const client = new DirectoryClient(opts, cached);
          client.start();
          return client;
        }
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * The directory in force: the last one that verified — unless no refresh has verified for
   * maxAgeMs, when nothing the party does may rest on it (PARTY_UNAVAILABLE: the router retries).
   */
  readonly get = (): NetworkDirectory => {
    if (this.stale()) throw new DzlError('PARTY_UNAVAILABLE', 'the party has not verified a current directory of the network; it takes no work until it has');
    return this.held.directory;
  };

  /** Whether the held copy is older than maxAgeMs without a verified refresh. */
  stale(): boolean {
    return Date.now() - this.verifiedAt > (this.opts.maxAgeMs ?? 60_000);
  }

  get version(): DirectoryBody['version'] {
    return this.held.body.version;
  }

  /** One refresh: true when a newer document verified and replaced the one held. */
  async refresh(): Promise<boolean> {
    try {
      const doc = await fetchDirectory(this.opts.routerUrl, this.opts.identity.signing);
      const fresh = verifyPublishedDirectory(doc, this.opts.identity.caPem, this.held.body);
      if (this.failing) this.opts.log?.info({ version: fresh.body.version }, 'the directory refreshes again');
      this.failing = undefined;
      this.verifiedAt = Date.now();
      const changed = fresh.body.version !== this.held.body.version;
      this.held = fresh;
      if (changed) {
        this.keep(doc);
        this.opts.log?.info({ version: fresh.body.version }, 'directory refreshed');
      }
      return changed;
    } catch (err) {
      const code = toDzlError(err).code;
      if (this.failing !== code) this.opts.log?.warn({ code, version: this.held.body.version }, 'the directory did not refresh; keeping the one held until it is stale');
      this.failing = code;
      return false;
    }
  }

  private keep(doc: unknown): void {
    if (!this.opts.cacheFile) return;
    const tmp = `${this.opts.cacheFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(doc));
    renameSync(tmp, this.opts.cacheFile);
  }

  private start(): void {
    const every = this.opts.refreshMs ?? 2_000;
    const tick = () => {
      this.timer = setTimeout(() => void this.refresh().finally(() => this.timer && tick()), every);
      this.timer.unref();
    };
    tick();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
