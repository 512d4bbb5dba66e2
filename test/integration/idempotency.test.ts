/**
 * A repeat never starts the flow again, and a crash between intake's commit and the workflow's
 * start loses nothing: the platform's retry with the same Idempotency-Key and bytes starts it.
 * Real Temporal, HTTP, MariaDB.
 */
import { strict as assert } from 'node:assert';
import type { Client } from '@temporalio/client';
import { acceptApplication, type IntakeDeps } from '../../services/router/intake';
import { SAMPLE_CUSTOMERS } from '../../services/parties/samples';
import { startLocalNetwork, waitForState, type LocalNetwork } from '../../services/runtime/localNetwork';
import { RELAYED_MAX_AGE_MS } from '../../services/seal/hop';
import { getApplication } from '../../services/store/applications';
import { DbNonceStore } from '../../services/store/nonces';
import { ensureNetwork, env, temporalAddress, workflowBundle } from '../support/env';
import { freshStore } from '../support/stores';

const GOOD = SAMPLE_CUSTOMERS[0]!.fields;

/** A Temporal client whose first workflow start fails, as if the router died right after its commit. */
function crashingOnceAtStart(real: Client): Client {
  let crashed = false;
  const workflow = new Proxy(real.workflow, {
    get(target, prop, receiver) {
      if (prop === 'start' && !crashed) {
        return async () => {
          crashed = true;
          throw new Error('router killed between the commit and the workflow start');
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return new Proxy(real, { get: (target, prop, receiver) => (prop === 'workflow' ? workflow : Reflect.get(target, prop, receiver)) });
}

describe('idempotent intake — real Temporal, HTTP, MariaDB', function () {
  this.timeout(120_000);
  let net: LocalNetwork;
  let drop: () => Promise<void>;
  before(async () => {
    const store = await freshStore('mysql', 'idempotency');
    drop = store.drop;
    net = await startLocalNetwork({ dbUrl: store.url, networkDir: ensureNetwork(), temporalAddress: temporalAddress(), logFile: env.logFile, bundle: await workflowBundle() });
  });
  after(async () => {
    await net?.close();
    await drop?.();
  });

  it('answers a repeat after the application has ended without starting a second run: no second delivery, no second callback', async () => {
    const app = net.platform.prepare(GOOD, 'bank-hangzhou');
    assert.equal((await net.platform.submit(app)).status, 202);
    await waitForState(net.platform, app.applicationId, ['platform_notified']);
    const row = (await getApplication(net.db, app.applicationId))!;
    // the platform is told a moment before the run closes: wait for the run itself to end
    await net.router.temporal.workflow.getHandle(row.workflowId).result();
    const first = await net.router.temporal.workflow.getHandle(row.workflowId).describe();
    assert.equal(first.status.name, 'COMPLETED');
    const decisionsBefore = net.events.get('bank-hangzhou')!.decisions.length;
    const again = await net.platform.submit(app);
    assert.equal(again.status, 200);
    assert.equal(again.body.replayed, true);
    const after = await net.router.temporal.workflow.getHandle(row.workflowId).describe();
    assert.equal(after.runId, first.runId, 'the same run: nothing started again');
    assert.equal(net.events.get('bank-hangzhou')!.decisions.length, decisionsBefore, 'the bank was not asked again');
  });

  it('starts the workflow on the platform’s retry when the router died between its commit and the start', async () => {
    const app = net.platform.prepare(GOOD, 'bank-hangzhou');
    const deps: IntakeDeps = {
      db: net.db,
      directory: net.router.directory.get,
      nonces: new DbNonceStore(net.db, RELAYED_MAX_AGE_MS),
      temporal: crashingOnceAtStart(net.router.temporal),
      outbound: { allowPrivateNetworks: true },
    };
    await assert.rejects(acceptApplication(deps, 'platform-huixin', app.idempotencyKey, app.body), /router killed/);
    assert.ok(await getApplication(net.db, app.applicationId), 'the intake committed whole');
    // the platform retries with the same key and bytes: answered, and the flow starts
    const retry = await net.platform.submit(app);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    const { state } = await waitForState(net.platform, app.applicationId, ['platform_notified']);
    assert.equal(state, 'platform_notified');
  });
});
