/**
 * (h) Every hop follows the 断直连 routing rules under its consent as it stood — named, not
 * withdrawn, not expired — and (i) in a complete bundle, no hop anywhere went platform → bank.
 */
import type { Consent } from '../../consent/consent';
import { checkRoute, isBareRedirect } from '../../routing/rules';
import { canonicalJson } from '../../seal/canonical';
import type { ConsentStateLeaf } from '../leaves';
import { roleOf, type Registry } from './registry';
import { explain, type Checks } from './report';
import { leavesOfType, type DecodedLeaf, type StateChange, type VerifiedHop } from './types';

export function consentsOf(leaves: DecodedLeaf[], checks: Checks): Map<string, Consent> {
  const consents = new Map<string, Consent>();
  for (const { index, leaf } of leavesOfType(leaves, 'consent')) {
    const c = leaf.consent;
    const earlier = consents.get(c.id);
    if (earlier && !canonicalJson(earlier).equals(canonicalJson(c))) {
      checks.fail('CONSENT_CONFLICT', 'consent', `leaf ${index}: consent ${c.id} is recorded again with different terms`, index);
      continue;
    }
    consents.set(c.id, c);
  }
  return consents;
}

/** The consent_state leaves of the bundle by consent id, in leaf order. */
export function consentStatesOf(leaves: DecodedLeaf[]): Map<string, StateChange[]> {
  const states = new Map<string, StateChange[]>();
  for (const { index, leaf } of leavesOfType(leaves, 'consent_state')) {
    const list = states.get(leaf.consentId) ?? [];
    list.push({ index, leaf });
    states.set(leaf.consentId, list);
  }
  return states;
}

/** Whether the change ends the consent for `recipient`: one the consent names, and the change lists (or all). */
function endsFor(change: ConsentStateLeaf, consent: Consent, recipient: string): boolean {
  return consent.recipients.includes(recipient) && (change.recipients === undefined || change.recipients.includes(recipient));
}

/** A bank's own consent for an application (redirect model), withdrawn, withdraws the application's consent for its recipients. */
function ownWithdrawalsByApplication(consents: Map<string, Consent>, states: Map<string, StateChange[]>): Map<string, (StateChange & { of: Consent })[]> {
  const out = new Map<string, (StateChange & { of: Consent })[]>();
  for (const [consentId, list] of states) {
    const of = consents.get(consentId);
    if (!of?.applicationId) continue;
    const withdrawals = list.filter((s) => s.leaf.state === 'withdrawn').map((s) => ({ ...s, of }));
    out.set(of.applicationId, [...(out.get(of.applicationId) ?? []), ...withdrawals]);
  }
  return out;
}

export function checkRouting(hops: Map<string, VerifiedHop>, consents: Map<string, Consent>, states: Map<string, StateChange[]>, registry: Registry, checks: Checks): void {
  const mark = checks.list.length;
  const ownWithdrawals = ownWithdrawalsByApplication(consents, states);
  for (const { index, header } of hops.values()) {
    const consent = consents.get(header.consentRef);
    if (!consent) {
      checks.fail('ROUTING_CONSENT_MISSING', 'routing', `hop ${header.hopId}: no consent leaf for ${header.consentRef}`, index);
      continue;
    }
    const dir = registry.asOf(index);
    if (!dir) {
      checks.fail('ROUTING_NO_REGISTRY', 'routing', `hop ${header.hopId}: routing not checked: no registry as of leaf ${index}`, index);
      continue;
    }
    try {
      checkRoute(header, { directory: dir, consent, at: new Date(header.issuedAt) });
    } catch (err) {
      checks.fail('ROUTING_VIOLATION', 'routing', `hop ${header.hopId}: ${explain(err)}`, index, err);
      continue;
    }
    // The router learns of a withdrawal or an expiry when it records it: no hop to that recipient after.
    const ended = [...(states.get(consent.id) ?? []).map((s) => ({ ...s, of: consent })), ...(ownWithdrawals.get(header.applicationId) ?? [])]
      .filter((s) => s.index < index && consent.recipients.includes(header.to) && endsFor(s.leaf, s.of, header.to))
      .sort((a, b) => a.index - b.index)[0];
    if (ended) {
      const cause = ended.leaf.state === 'withdrawn' ? 'CONSENT_WITHDRAWN' : 'CONSENT_EXPIRED';
      checks.fail('ROUTING_AFTER_CONSENT_ENDED', 'routing', `hop ${header.hopId}: ${cause} — consent ${ended.leaf.consentId} was ${ended.leaf.state} for ${header.to} at leaf ${ended.index}, before this hop was recorded`, index);
      checks.list[checks.list.length - 1]!.cause = cause;
    }
  }
  if (checks.failuresSince(mark) === 0) checks.pass('routing', `${hops.size} hops follow the routing rules under their consents`);
}

export function checkNoDirectConnection(hops: Map<string, VerifiedHop>, registry: Registry, checks: Checks): void {
  const direct: string[] = [];
  const unresolved: string[] = [];
  let redirects = 0;
  for (const { index, header } of hops.values()) {
    const dir = registry.asOf(index);
    const from = roleOf(dir, header.from);
    const to = roleOf(dir, header.to);
    if (!from || !to) unresolved.push(`hop ${header.hopId} (leaf ${index})`);
    else if (from === 'platform' && to === 'bank') {
      // the one lawful platform → bank hop: a redirect carrying the router's token and nothing personal
      let bare = false;
      try {
        bare = isBareRedirect(header);
      } catch {
        bare = false;
      }
      if (bare) redirects++;
      else direct.push(`hop ${header.hopId} (leaf ${index}) ${header.from} → ${header.to}`);
    }
  }
  const check = `no platform → bank hop in the log (${hops.size} hops checked${redirects ? `; ${redirects} redirect hops carry only the token` : ''})`;
  if (direct.length > 0) checks.fail('DIRECT_CONNECTION_FOUND', check, `direct connection: platform → bank hop in the log: ${direct.join('; ')}`);
  else if (unresolved.length > 0) checks.fail('DIRECT_CONNECTION_UNRESOLVED', check, `direct connection: cannot show absence: the roles of ${unresolved.join(', ')} are not in the registry`);
  else checks.pass(check);
}
