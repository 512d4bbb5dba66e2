import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leavesOfApplication } from '../../services/ledger/ledger';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { DEV, startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { statesOf } from '../../services/store/applicationStates';
import { ensureNetwork, env, RUN_DIR, temporalAddress, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';

const BANK = DEV.banks[0];

describe('a worker killed mid-flow (SIGKILL) and restarted — real Temporal, MariaDB', function () {
  this.timeout(180_000);
  let net: LocalNetwork;
  let drop: () => Promise<void>;
  let bundlePath: string;
  const children: ChildProcess[] = [];

  const startWorkerProcess = async (): Promise<ChildProcess> => {
    const cfg = { dbUrl: net.cfg.dbUrl, networkDir: net.cfg.networkDir, temporalAddress: net.cfg.temporalAddress, logFile: env.logFile, bundlePath };
    const child = fork(join(__dirname, '..', 'support', 'workerProcess.js'), [JSON.stringify(cfg)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)));
    });
    return child;
  };

  before(async () => {
    const store = await freshStore('mysql', 'crash');
    drop = store.drop;
    bundlePath = join(RUN_DIR, 'workflow-bundle.js');
    writeFileSync(bundlePath, (await workflowBundle()).code);
    net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, inProcessWorker: false, bankDelayMs: 3000 });
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await net?.close();
    await drop?.();
  });

  it('finishes the application exactly once: one decision at the bank, one hop and one receipt per step', async () => {
    const first = await startWorkerProcess();
    const app = net.platform.prepare(SAMPLE_CUSTOMERS[3]!.fields, BANK);
    const submitted = await net.platform.submit(app);
    assert.equal(submitted.status, 202);
    await waitForState(net.platform, app.applicationId, ['credit_report_sealed']);
    await new Promise((r) => setTimeout(r, 800)); // the bank is now deciding; the worker awaits its answer
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    await startWorkerProcess();
    await waitForState(net.platform, app.applicationId, ['platform_notified'], 90_000);

    const decisions = net.events.get(BANK)!.decisions.filter((d) => d.applicationId === app.applicationId);
    assert.equal(decisions.length, 1, 'the bank decided once although the delivery was retried');
    const leaves = await leavesOfApplication(net.db, app.applicationId);
    assert.equal(leaves.filter((l) => l.kind === 'hop').length, 3);
    assert.equal(leaves.filter((l) => l.kind === 'receipt').length, 3);
    assert.deepEqual((await statesOf(net.db, app.applicationId)).map((s) => s.state), ['accepted', 'credit_report_sealed', 'approved', 'platform_notified']);
    const result = await net.router.temporal.workflow.getHandle(submitted.body.workflowId).result();
    assert.equal(result.status, 'approved', 'the one workflow run completed');
    assert.equal(net.platform.decisions.get(app.applicationId)?.outcome.status, 'approved');
  });
});
