/**
 * What the whole test run shares: one Temporal dev server (real, from .tools/bin), one network
 * of parties and keys, one workflow bundle, and a fresh MariaDB database per suite.
 */
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import knexFactory from 'knex';
import { createDevNetwork, networkExists } from '../../services/network/folder';
import { bundleWorkflows } from '../../services/runtime/stack';
import type { DevServer } from '../../services/temporal/devServer';

export const ROOT = resolve(__dirname, '..', '..', '..');
/** One run's files; DZL_TEST_RUN_DIR keeps concurrent runs in one checkout apart. */
export const RUN_DIR = process.env.DZL_TEST_RUN_DIR ? resolve(process.env.DZL_TEST_RUN_DIR) : join(ROOT, '.tmp', 'test-run');
export const ARTIFACTS = join(ROOT, 'test-artifacts');
export const CHROMIUM = process.env.DZL_CHROMIUM ?? '/usr/bin/chromium';
export const MYSQL_ROOT_URL = process.env.DZL_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface TestEnv {
  temporal?: DevServer;
  networkDir: string;
  logFile: string;
  bundle?: Promise<WorkflowBundleWithSourceMap>;
}

export const env: TestEnv = { networkDir: join(RUN_DIR, 'network'), logFile: join(RUN_DIR, 'logs', 'dzl.log') };

export function temporalAddress(): string {
  if (!env.temporal) throw new Error('the Temporal dev server is not running (test/support/hooks)');
  return env.temporal.address;
}

export function ensureNetwork(): string {
  if (!networkExists(env.networkDir)) createDevNetwork(env.networkDir);
  return env.networkDir;
}

export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  env.bundle ??= bundleWorkflows();
  return env.bundle;
}

export function tempDir(name: string): string {
  mkdirSync(join(RUN_DIR, 'tmp'), { recursive: true });
  return mkdtempSync(join(RUN_DIR, 'tmp', `${name}-`));
}

/** A fresh database on the MariaDB server for one suite; dropped by the returned function. */
export async function freshMysqlDatabase(suite: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `dzl_${suite.replace(/[^a-z0-9]/gi, '_').slice(0, 20)}_${process.pid}_${Date.now() % 1e6}`;
  const root = new URL(MYSQL_ROOT_URL);
  const admin = knexFactory({
    client: 'mysql2',
    connection: { host: root.hostname, port: Number(root.port || 3306), user: decodeURIComponent(root.username), password: decodeURIComponent(root.password), database: root.pathname.slice(1) },
  });
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const url = new URL(MYSQL_ROOT_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.destroy();
    },
  };
}

export function sqliteUrl(dir: string): string {
  return `sqlite://${join(dir, 'dzl.db')}`;
}
