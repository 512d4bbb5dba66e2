/**
 * The open network on one machine, each part its own OS process, every party onboarded the way
 * an independent organisation joins (deploy/JOINING.md): the operator's `dzl network init
 * --operator-only` and `dzl network register`; `dzl router` and `dzl worker`; then per party
 * `dzl party init` in its own folder, `dzl operator admit`, `dzl party install`, a configuration
 * file (contracts/parties.md) and `dzl channel|bank|platform`. Nothing here reaches into a
 * process: what it knows of the network it learns from the commands' files and the HTTP API.
 * `make demo-processes` runs it (processDemo.ts); test/e2e/processes.test.ts attacks it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { PluginSpec } from '../parties/pluginLoader';
import { freePort } from '../temporal/devServer';

const run = promisify(execFile);
export const DZL_CLI = resolve(__dirname, '..', 'cli', 'dzl.js');
/** The network operator of the process network: its own Ed25519 key signs every operator API call. */
export const OPERATOR_ID = 'ops-dev';

export interface ChannelSpec {
  id: string;
  legalName: string;
  licence: string;
  policy?: PluginSpec;
}

export interface BankSpec {
  id: string;
  legalName: string;
  channel: string;
  engine?: PluginSpec;
  decisionTimeoutMs?: number;
  asyncAfterMs?: number;
  disburseAfterMs?: number;
}

export interface ProcessNetworkOptions {
  /** A folder of its own: the operator's, each party's, the configurations and every process's log. */
  root: string;
  dbUrl: string;
  temporalAddress: string;
  channels: ChannelSpec[];
  banks: BankSpec[];
  platform: { id: string; legalName: string; channel: string; funding: string[] };
  /** How often each party refreshes the directory (ms). */
  refreshMs?: number;
}

export interface ProcessNetwork {
  routerUrl: string;
  operatorDir: string;
  /** A party's own folder. */
  folder(id: string): string;
  /** Each party's endpoints, as registered. */
  ports: Record<string, number>;
  /** The platform's own API (contracts/parties.md §3). */
  platformApi(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the API's JSON
  /** Each process's operations endpoint (healthz, readyz, metrics), as it printed it; the worker's Temporal SDK metrics at ports.temporalMetrics. */
  opsUrls: Record<string, string>;
  /** What an operator command needs to go through the operator API, signed by the operator's key. */
  operatorArgs: string[];
  /** Runs `dzl <args>` to completion (an operator's or a party's command). */
  dzl(...args: string[]): Promise<{ stdout: string }>;
  processes: { name: string; child: ChildProcess }[];
  stop(): Promise<void>;
}

export async function startProcessNetwork(o: ProcessNetworkOptions): Promise<ProcessNetwork> {
  mkdirSync(o.root, { recursive: true });
  const operatorDir = join(o.root, 'operator');
  const processes: { name: string; child: ChildProcess }[] = [];
  const opsUrls: Record<string, string> = {};
  const dzl = (...args: string[]) => run(process.execPath, [DZL_CLI, ...args], { cwd: o.root });
  const port: Record<string, number> = {};
  for (const name of ['router', 'routerGrpc', 'temporalMetrics', 'callback', 'platformApi', ...o.channels.map((c) => c.id), ...o.banks.flatMap((b) => [b.id, `${b.id}:web`])]) port[name] = await freePort();
  const routerUrl = `http://127.0.0.1:${port.router}`;
  const operatorArgs = ['--api', routerUrl, '--operator-id', OPERATOR_ID, '--operator-key', join(o.root, 'operator-keys', `${OPERATOR_ID}.key.pem`)];

  /** `dzl <args>` as a process of its own, its output in its own log; resolves once it printed `ready`. */
  const start = (name: string, ready: RegExp, ...args: string[]) =>
    new Promise<ChildProcess>((resolveStart, reject) => {
      const log = createWriteStream(join(o.root, `${name}.out.log`));
      const child = spawn(process.execPath, [DZL_CLI, ...args], { cwd: o.root, stdio: ['ignore', 'pipe', 'pipe'] });
      processes.push({ name, child });
      child.stdout.pipe(log);
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 90 s: ${seen.slice(-400)}`)), 90_000);
      child.stderr.on('data', (chunk: Buffer) => {
        log.write(chunk);
        seen += chunk.toString('utf8');
        if (ready.test(seen)) {
          clearTimeout(timer);
          const ops = /ops (http:\/\/[^\s,;]+)/.exec(seen)?.[1];
          if (ops) opsUrls[name] = ops;
          resolveStart(child);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code}: ${seen.slice(-400)}`));
      });
    });

  const stop = async () => {
    for (const { child } of [...processes].reverse()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(processes.map(({ child }) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise<void>((r) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        r();
      }, 10_000);
      child.once('exit', () => {
        clearTimeout(t);
        r();
      });
    }))));
  };

  try {
    // the operator: the network CA and the router's keys — nobody else's
    await dzl('network', 'init', '--dir', operatorDir, '--operator-only');
    await dzl('network', 'register', '--dir', operatorDir, '--db', o.dbUrl);
    // an operator's own key, listed in the network: every change after the router runs goes through the operator API
    await dzl('operator', 'keygen', '--id', OPERATOR_ID, '--out', join(o.root, 'operator-keys'));
    await dzl('operator', 'allow', '--network', operatorDir, '--id', OPERATOR_ID, '--public-key', join(o.root, 'operator-keys', `${OPERATOR_ID}.pub.pem`));
    const common = ['--db', o.dbUrl, '--network', operatorDir, '--temporal', o.temporalAddress, '--allow-private-callbacks'];
    await start('router', /dzl router running/, 'router', ...common, '--port', String(port.router), '--grpc-address', `127.0.0.1:${port.routerGrpc}`);
    await start('worker', /dzl worker running/, 'worker', ...common, '--temporal-metrics', `127.0.0.1:${port.temporalMetrics}`);

    const onboard = async (id: string, role: string, legalName: string, admit: string[]) => {
      const folder = join(o.root, id);
      await dzl('party', 'init', '--dir', folder, '--id', id, '--role', role, '--legal-name', legalName);
      await dzl('operator', 'admit', join(folder, 'request.json'), '--out', join(o.root, `${id}.admission.json`), '--dir', operatorDir, ...operatorArgs, ...admit);
      await dzl('party', 'install', join(o.root, `${id}.admission.json`), '--dir', folder);
    };
    const configure = (id: string, config: Record<string, unknown>) => {
      const file = join(o.root, `${id}.json`);
      writeFileSync(file, JSON.stringify({ folder: `./${id}`, routerUrl, directory: { refreshMs: o.refreshMs ?? 2_000 }, log: { file: `./${id}.log` }, ...config }, null, 2));
      return file;
    };
    for (const c of o.channels) await onboard(c.id, 'channel', c.legalName, ['--grpc', `127.0.0.1:${port[c.id]}`, '--licence', c.licence, '--licence-issuer', 'PBOC (dev)', '--licence-valid-until', '2030-12-31T23:59:59Z']);
    for (const b of o.banks) {
      await onboard(b.id, 'bank', b.legalName, ['--grpc', `127.0.0.1:${port[b.id]}`, '--web', `http://127.0.0.1:${port[`${b.id}:web`]}/h5/apply`, '--contracted-channel', b.channel, '--decision-timeout-ms', String(b.decisionTimeoutMs ?? 20_000)]);
    }
    await onboard(o.platform.id, 'platform', o.platform.legalName, ['--callback-origin', `http://127.0.0.1:${port.callback}`]);
    const rules = join(o.root, 'funding.json');
    writeFileSync(rules, JSON.stringify(o.platform.funding.map((bankId, i) => ({ bankId, priority: i + 1, minAmount: 100_000, maxAmount: 50_000_000, terms: [3, 6, 12, 24, 36], regions: ['*'], dailyQuota: 100_000 }))));
    await dzl('operator', 'funding', o.platform.id, rules, ...operatorArgs);

    const running = /running: /;
    await Promise.all([
      ...o.channels.map((c) => start(c.id, running, 'channel', '--config', configure(c.id, { role: 'channel', listen: { grpc: `127.0.0.1:${port[c.id]}` }, ...(c.policy ? { channel: { policy: c.policy } } : {}) }))),
      ...o.banks.map((b) =>
        start(b.id, running, 'bank', '--config', configure(b.id, {
          role: 'bank',
          listen: { grpc: `127.0.0.1:${port[b.id]}`, web: `127.0.0.1:${port[`${b.id}:web`]}` },
          bank: { ...(b.engine ? { engine: b.engine } : {}), ...(b.asyncAfterMs !== undefined ? { asyncAfterMs: b.asyncAfterMs } : {}), ...(b.disburseAfterMs !== undefined ? { disburseAfterMs: b.disburseAfterMs } : {}) },
        })),
      ),
      start(o.platform.id, running, 'platform', '--config', configure(o.platform.id, {
        role: 'platform',
        listen: { callback: `127.0.0.1:${port.callback}`, api: `127.0.0.1:${port.platformApi}` },
        platform: { channel: o.platform.channel },
      })),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    routerUrl,
    operatorDir,
    folder: (id) => join(o.root, id),
    ports: port,
    platformApi: (method, path, body) => callPlatformApi(`http://127.0.0.1:${port.platformApi}`, method, path, body),
    operatorArgs,
    opsUrls,
    dzl,
    processes,
    stop,
  };
}

/** A call of a platform process's own API (contracts/parties.md §3): its status and JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON
export async function callPlatformApi(api: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() };
}

/** The customer on a bank's own page (the direct redirect): the form, as a browser would post it. */
export async function applyOnBankPage(redirectUrl: string, customer: { name: string; idNumber: string; mobile: string; amountYuan: number; termMonths: number }): Promise<number> {
  const page = await fetch(redirectUrl);
  if (page.status !== 200) return page.status;
  const token = new URL(redirectUrl).searchParams.get('token') ?? '';
  const form = new URLSearchParams({ token, name: customer.name, idNumber: customer.idNumber, mobile: customer.mobile, amount: String(customer.amountYuan), term: String(customer.termMonths), consent: 'yes' });
  const posted = await fetch(new URL('/h5/apply', redirectUrl), { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  return posted.status;
}
