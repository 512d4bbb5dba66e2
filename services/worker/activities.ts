/**
 * The worker's activities, by concern: delivery of sealed hops, callbacks to platforms, notices
 * to parties, and the data lifecycle (withdrawal, retention). Each implements its interface in
 * services/orchestration/contract.ts, which is all a workflow knows of them.
 */
import type { Activities } from '../orchestration/contract';
import { createCallbackActivities } from './callbacks';
import { createDeliveryActivities } from './delivery';
import type { ActivityDeps } from './deps';
import { createLifecycleActivities } from './lifecycle';
import { createNoticeActivities } from './notices';

export type { ActivityDeps };

export function createActivities(deps: ActivityDeps): Activities {
  return { ...createDeliveryActivities(deps), ...createCallbackActivities(deps), ...createNoticeActivities(deps), ...createLifecycleActivities(deps) };
}
