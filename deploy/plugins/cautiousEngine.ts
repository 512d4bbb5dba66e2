/**
 * An example of a bank's own decision engine as a module plug-in (contracts/parties.md §2): the
 * reference credit policy, except that it declines any loan above `maxAmount` (fen) — so in the
 * cluster a large application cascades from bank-hangzhou to the next bank. A bank's team writes
 * the same two exports around its own engine.
 *
 *   "bank": { "engine": { "module": "dist/deploy/plugins/cautiousEngine.js", "options": { "maxAmount": 10000000 } } }
 */
import { decide, type DecisionEngine } from '../../services/parties/plugins';

export function createDecisionEngine(options: { maxAmount?: number; cutoff?: number }): DecisionEngine {
  const maxAmount = options.maxAmount ?? 10_000_000;
  return {
    model: { name: 'Cautious-Policy', version: '2026.12' },
    decide: (fields) =>
      Number(fields['loan.amount']) > maxAmount
        ? { outcome: { status: 'declined', reasonCode: 'AMOUNT_ABOVE_APPETITE' }, fields: { 'decision.status': 'declined', 'decision.reasonCode': 'AMOUNT_ABOVE_APPETITE' } }
        : decide(fields, options.cutoff ?? 600),
  };
}
