/**
 * (l) Consent state: each withdrawal is recorded by the party that collected the consent, each
 * expiry by the router, naming only recipients the consent names.
 */
import type { Consent } from '../../consent/consent';
import { roleOf, type Registry } from './registry';
import type { Checks, Progress } from './report';
import type { StateChange } from './types';
import type { BundleScope } from '../bundle';

/**
 * Whether the bundle must hold everything a lifecycle leaf refers to: an application bundle holds
 * its application's hops, consents and their states; a complete bundle holds the whole log. A
 * party bundle holds a slice, so an absence there shows nothing.
 */
export function isClosed(scope: BundleScope | undefined, complete: boolean): boolean {
  return complete || scope?.kind === 'application';
}

export function checkConsentStates(states: Map<string, StateChange[]>, consents: Map<string, Consent>, closed: boolean, registry: Registry, checks: Checks, progress: Progress): void {
  const all = [...states.values()].flat().sort((a, b) => a.index - b.index);
  if (all.length === 0) return;
  const mark = checks.list.length;
  let unchecked = 0;
  for (const { index, leaf: s } of all) {
    progress.advance();
    const label = `leaf ${index} (consent ${s.consentId} ${s.state})`;
    const consent = consents.get(s.consentId);
    if (!consent) {
      if (closed) checks.fail('CONSENT_STATE_CONSENT_MISSING', 'consent state', `${label}: no consent leaf for ${s.consentId} in the bundle`, index);
      else unchecked++;
      continue;
    }
    const unnamed = (s.recipients ?? []).filter((r) => !consent.recipients.includes(r));
    if (unnamed.length > 0) checks.fail('CONSENT_STATE_RECIPIENT_UNNAMED', 'consent state', `${label}: names ${unnamed.join(', ')}, which the consent does not name as recipients`, index);
    if (s.state === 'withdrawn') {
      const creator = consent.createdBy ?? consent.platformId;
      if (s.by !== creator) checks.fail('CONSENT_STATE_WRONG_RECORDER', 'consent state', `${label}: recorded by ${s.by}; only ${creator}, which collected the consent, records its withdrawal`, index);
    } else {
      const role = roleOf(registry.asOf(index), s.by);
      if (role !== 'router') {
        checks.fail('CONSENT_STATE_WRONG_RECORDER', 'consent state', `${label}: recorded by ${s.by}, ${role ? `a ${role}` : 'not a party in the registry as of this leaf'}; only the router records an expiry`, index);
      }
    }
  }
  if (checks.failuresSince(mark) === 0) {
    const withdrawn = all.filter((s) => s.leaf.state === 'withdrawn').length;
    const notHeld = unchecked > 0 ? `; ${unchecked} of consents this bundle does not hold, not checked` : '';
    checks.pass('consent state', `${withdrawn} withdrawals and ${all.length - withdrawn} expiries, recorded by the party entitled to${notHeld}`);
  }
}
