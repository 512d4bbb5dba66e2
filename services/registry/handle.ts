import type { NetworkDirectory } from './directory';

/**
 * The current directory, reloaded from its source on demand and on a timer, so a party's new
 * endpoint, certificate or licence status reaches running processes without a restart.
 */
export class DirectoryHandle {
  private timer?: NodeJS.Timeout;

  private constructor(private current: NetworkDirectory, private readonly load: () => Promise<NetworkDirectory>) {}

  static async open(load: () => Promise<NetworkDirectory>, refreshMs = 5000): Promise<DirectoryHandle> {
    const h = new DirectoryHandle(await load(), load);
    if (refreshMs > 0) {
      h.timer = setInterval(() => void h.refresh().catch(() => undefined), refreshMs);
      h.timer.unref();
    }
    return h;
  }

  readonly get = (): NetworkDirectory => this.current;

  private loading?: Promise<NetworkDirectory>;

  /** Rereads the directory; callers asking while a reread is under way share it. */
  readonly refresh = (): Promise<NetworkDirectory> => {
    this.loading ??= this.load()
      .then((d) => (this.current = d))
      .finally(() => (this.loading = undefined));
    return this.loading;
  };

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
