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

  async refresh(): Promise<NetworkDirectory> {
    this.current = await this.load();
    return this.current;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
