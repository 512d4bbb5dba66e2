import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer } from '../../services/temporal/devServer';
import { env, RUN_DIR } from './env';

/** Root hooks: one real Temporal dev server (SQLite file) for the whole run. */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000);
    rmSync(RUN_DIR, { recursive: true, force: true });
    mkdirSync(join(RUN_DIR, 'logs'), { recursive: true });
    env.temporal = await startDevServer(RUN_DIR);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await env.temporal?.stop();
  },
};
