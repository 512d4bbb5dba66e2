/**
 * `make demo-processes`: the network as separate OS processes — the Temporal dev server, the
 * router, the worker, two licensed channels, three banks and the platform — each party onboarded
 * with keys it made in its own folder (services/demo/processNetwork.ts). It carries a
 * data-channel application through a cascade (bank-hangzhou's engine, the reference policy with a
 * stricter cutoff, declines; bank-suzhou approves) and a direct redirect through the other
 * channel, prints what each process is and what happened, and scans every file the processes
 * wrote for the customers' personal data. DZL_KEEP=1 leaves the network running until Ctrl-C.
 *
 * The router's store is MariaDB (router and worker are two processes on one store):
 * DZL_DB_URL, default mysql://root@127.0.0.1:3306/dzl_processes, created afresh.
 */
import Table from 'cli-table3';
import knexFactory from 'knex';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SAMPLE_CUSTOMERS, sensitiveValues } from '../parties/samples';
import type { Fields } from '../seal/hop';
import { startDevServer } from '../temporal/devServer';
import { applyOnBankPage, startProcessNetwork } from './processNetwork';
import { scanForPlaintext } from './scan';

const REDIRECT_CUSTOMER = { name: '孙丽娜', idNumber: '330104199405063826', mobile: '13712345678', amountYuan: 30_000, termMonths: 12 };

/** A fresh MySQL/MariaDB database for the run (the URL's database is dropped and created). */
async function freshDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error('DZL_DB_URL names a database of letters, digits and underscores');
  const admin = knexFactory({ client: 'mysql2', connection: { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } });
  try {
    await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } catch (err) {
    throw new Error(`MySQL/MariaDB at ${u.host} did not answer (${err instanceof Error ? err.message : String(err)}): set DZL_DB_URL`);
  } finally {
    await admin.destroy();
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const home = resolve(process.env.DZL_HOME ?? '.dzl');
  const root = join(home, 'processes');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const dbUrl = process.env.DZL_DB_URL ?? 'mysql://root@127.0.0.1:3306/dzl_processes';
  process.stdout.write(`dzl network as separate processes — every file in ${root}\n  a fresh store at ${dbUrl.split('@').pop()}; the Temporal dev server …\n`);
  await freshDatabase(dbUrl);
  mkdirSync(join(root, 'temporal'), { recursive: true });
  const temporal = await startDevServer(join(root, 'temporal'));
  const net = await startProcessNetwork({
    root,
    dbUrl,
    temporalAddress: temporal.address,
    channels: [
      { id: 'channel-baihang', legalName: '百行征信（示例）', licence: 'DEV-PBOC-ZX-0001' },
      { id: 'channel-pudao', legalName: '朴道征信（示例）', licence: 'DEV-PBOC-ZX-0002' },
    ],
    banks: [
      // the reference policy with its own cutoff, as a bank's configuration names it
      { id: 'bank-hangzhou', legalName: '杭州示范银行', channel: 'channel-baihang', engine: { reference: true, options: { cutoff: 800 } } },
      { id: 'bank-suzhou', legalName: '苏州示范消费金融', channel: 'channel-baihang', disburseAfterMs: 300 },
      { id: 'bank-wenzhou', legalName: '温州示范银行', channel: 'channel-pudao' },
    ],
    platform: { id: 'platform-huixin', legalName: '汇信助贷科技（示例）', channel: 'channel-baihang', funding: ['bank-hangzhou', 'bank-suzhou'] },
  });
  const stopAll = async () => {
    await net.stop();
    await temporal.stop();
  };
  try {
    const t = new Table({ head: ['process', 'pid', 'log'], style: { head: [] } });
    for (const p of net.processes) t.push([p.name, p.child.pid ?? '', `${p.name}.out.log${p.name === 'router' || p.name === 'worker' ? '' : `, ${p.name}.log`}`]);
    process.stdout.write(`${t.toString()}\n  each party's keys were made in its own folder (dzl party init), admitted by the operator (dzl operator admit) and installed (dzl party install)\n\n`);

    const customer = SAMPLE_CUSTOMERS[0]!;
    const submitted = await net.platformApi('POST', '/applications', { fields: customer.fields, route: { attributes: { amount: customer.fields['loan.amount'], termMonths: 12, region: '330000' } }, banks: ['bank-hangzhou', 'bank-suzhou'] });
    if (submitted.status !== 202) throw new Error(`the router refused the application: ${submitted.body.router?.error?.code}`);
    const cascade = await until('the cascade', async () => {
      const r = await net.platformApi('GET', `/applications/${encodeURIComponent(submitted.body.applicationId)}`);
      return r.body.held?.outcome ? r.body : undefined;
    });
    process.stdout.write(`data channel, funding cascade — ${submitted.body.applicationId}\n`);
    for (const a of cascade.router.route as { bank: string; outcome?: string; reasonCode?: string }[]) process.stdout.write(`  ${a.bank.padEnd(14)} ${a.outcome ?? '—'}${a.reasonCode ? ` (${a.reasonCode})` : ''}\n`);
    const terms = cascade.held.decision?.fields as Fields | undefined;
    process.stdout.write(`  outcome: ${cascade.held.outcome.outcome}${terms?.['decision.limit'] ? `, limit ¥${(Number(terms['decision.limit']) / 100).toLocaleString('en')}` : ''} (opened by the platform process)\n\n`);

    const risk = Object.fromEntries(Object.entries(customer.fields).filter(([k]) => k.startsWith('risk.')));
    const redirect = await net.platformApi('POST', '/redirects', { bank: 'bank-wenzhou', fields: risk });
    if (redirect.status !== 202) throw new Error(`the router refused the redirect: ${redirect.body.router?.error?.code ?? redirect.body.error?.code}`);
    const form = await applyOnBankPage(redirect.body.redirectUrl, REDIRECT_CUSTOMER);
    const redirected = await until('the redirect', async () => {
      const r = await net.platformApi('GET', `/applications/${encodeURIComponent(redirect.body.applicationId)}`);
      return r.body.held?.outcome ? r.body : undefined;
    });
    process.stdout.write(`direct redirect — ${redirect.body.applicationId}\n  the customer applied on bank-wenzhou's own page (HTTP ${form}); channel ${redirected.router.channel}; the platform learns: ${redirected.held.outcome.outcome}\n`);
    process.stdout.write(`  states: ${(redirected.router.history as { state: string }[]).map((s) => s.state).join(' → ')}\n\n`);

    const scan = scanForPlaintext([root], [...sensitiveValues(), REDIRECT_CUSTOMER.name, REDIRECT_CUSTOMER.idNumber, REDIRECT_CUSTOMER.mobile]);
    process.stdout.write(`plaintext scan of every file the processes wrote (the Temporal database, the parties' encrypted stores, every log): ${scan.files} files, ` +
      `${scan.hits.length === 0 ? 'no customer name, ID number or mobile found' : `${scan.hits.length} HITS: ${scan.hits.map((h) => h.file).join(', ')}`}\n`);
    if (scan.hits.length > 0) process.exitCode = 1;

    if (process.env.DZL_KEEP === '1') {
      process.stdout.write(`\nrunning — router ${net.routerUrl}, the platform's API http://127.0.0.1:${net.ports.platformApi}; Ctrl-C stops every process\n`);
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r());
        process.once('SIGTERM', () => r());
      });
    }
  } finally {
    await stopAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo-processes failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
