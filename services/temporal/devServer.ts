/**
 * Starts the Temporal dev server (the CLI the Makefile installs into .tools/bin) on a SQLite
 * file: the embedded default for the demo, the tests and the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join, resolve } from 'node:path';

export const TEMPORAL_BIN = process.env.DZL_TEMPORAL_BIN ?? resolve(__dirname, '..', '..', '..', '.tools', 'bin', 'temporal');

export interface DevServer {
  address: string;
  dbFile: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`temporal dev server exited with code ${proc.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), r(true)));
      c.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`temporal dev server did not listen on ${port} within ${timeoutMs} ms`);
}

export async function startDevServer(dir: string, opts: { port?: number; log?: string } = {}): Promise<DevServer> {
  if (!existsSync(TEMPORAL_BIN)) {
    throw new Error(`Temporal CLI not found at ${TEMPORAL_BIN}; run \`make setup\` (it go-installs temporal v1.5.1 into .tools/bin)`);
  }
  const port = opts.port ?? (await freePort());
  const dbFile = join(dir, 'temporal.db');
  const proc = spawn(
    TEMPORAL_BIN,
    ['server', 'start-dev', '--db-filename', dbFile, '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error', '--http-port', String(await freePort()), '--metrics-port', String(await freePort()),
      // WAL with NORMAL sync: the dev server's SQLite file stays consistent across a crash of the
      // process while skipping an fsync per commit (production runs Temporal on MySQL)
      '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitForPort(port, 60_000, proc);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    address: `127.0.0.1:${port}`,
    dbFile,
    process: proc,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
