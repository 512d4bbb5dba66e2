/**
 * Histories recorded from the workflows as they were (test/fixtures/histories, written by
 * `make record-histories`) replayed against the workflow code as it is: a change that would
 * break applications already running — a step added, removed or reordered — fails here.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../support/env';
import { HISTORIES_DIR } from '../support/workflowHarness';

describe('replay of recorded workflow histories', function () {
  this.timeout(120_000);
  const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort();

  it('has histories of the data-channel, redirect and withdrawal workflows to replay', () => {
    for (const name of ['data-channel-cascade', 'data-channel-timeout', 'data-channel-withdrawal', 'direct-redirect', 'withdrawal']) assert.ok(files.includes(`${name}.json`), `${name}.json is missing: run make record-histories`);
  });

  for (const file of files) {
    it(`replays ${file} without a determinism violation`, async () => {
      const history = historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')));
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file.replace(/\.json$/, ''));
    });
  }
});
