/** Parties that misbehave, built from the reference kits' plug-ins: what a careless or malicious party would send. */
import { referenceChannelPolicy, type ChannelPolicy } from '../../services/parties/plugins';

/** A channel that forwards some of the application's raw fields to the bank, past the minimisation policy. */
export function leakingChannel(fields: string[]): ChannelPolicy {
  const honest = referenceChannelPolicy();
  return {
    ...honest,
    reportFor: (input) => ({ ...honest.reportFor(input), ...Object.fromEntries(fields.filter((f) => f in input.application).map((f) => [f, input.application[f]!])) }),
  };
}
