/**
 * A bank's own decision engine as a module plug-in (contracts/parties.md §2), for the
 * separate-process test: it declines every application with the reason its options name, so a
 * cascade has to move on to the next bank.
 */
import type { DecisionEngine } from '../../../services/parties/plugins';

export function createDecisionEngine(options: { reasonCode?: string }): DecisionEngine {
  const reasonCode = options.reasonCode ?? 'POLICY_DECLINE';
  return {
    model: { name: 'Test-DecliningEngine', version: '1' },
    decide: () => ({ outcome: { status: 'declined', reasonCode }, fields: { 'decision.status': 'declined', 'decision.reasonCode': reasonCode } }),
  };
}
