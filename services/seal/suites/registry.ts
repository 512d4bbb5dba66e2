/**
 * The suites dzl speaks, found by what a reader has in hand: the identifiers of a header's `alg`,
 * a key, a certificate's suite name, or an Authorization scheme.
 */
import { RSA_SUITE } from './rsa';
import { SM_SUITE } from './sm';
import type { CipherSuite, HopAlgorithms, PartyPrivateKey, PartyPublicKey, SuiteName } from './suite';

export type { CipherSuite, HopAlgorithms, PartyPrivateKey, PartyPublicKey, SuiteName } from './suite';
export { SUITE_NAMES } from './suite';
export { RSA_SUITE } from './rsa';
export { SM_SUITE } from './sm';

const SUITES: Readonly<Record<SuiteName, CipherSuite>> = { RSA: RSA_SUITE, SM: SM_SUITE };
const ALL: readonly CipherSuite[] = Object.values(SUITES);

export function suiteNamed(name: SuiteName): CipherSuite {
  return SUITES[name];
}

/** The suite a key belongs to; throws for a key of no suite (an EC P-256 KeyObject, say). */
export function suiteOfKey(key: PartyPrivateKey | PartyPublicKey): CipherSuite {
  const suite = ALL.find((s) => s.owns(key));
  if (!suite) throw new TypeError('the key belongs to no dzl cipher suite (RSA or SM2)');
  return suite;
}

/** A hop's `alg`: the sender's signature and digests, the recipient's key wrap and AEAD. */
export function hopAlgorithms(sender: CipherSuite, recipient: CipherSuite): HopAlgorithms {
  return { sig: sender.alg.sig, digest: sender.alg.digest, wrap: recipient.alg.wrap, enc: recipient.alg.enc };
}

/** Every `alg` a receiver accepts (envelope.md §22.1): one sender suite with one recipient suite. */
export const ACCEPTED_ALGORITHMS: readonly HopAlgorithms[] = ALL.flatMap((sender) => ALL.map((recipient) => hopAlgorithms(sender, recipient)));

/**
 * The sender's and the recipient's suite an `alg` names; undefined unless it has exactly the four
 * members, `sig` and `digest` of one suite and `wrap` and `enc` of one suite.
 */
export function suitesOfAlg(alg: unknown): { sender: CipherSuite; recipient: CipherSuite } | undefined {
  if (typeof alg !== 'object' || alg === null || Array.isArray(alg)) return undefined;
  const a = alg as Record<string, unknown>;
  if (Object.keys(a).length !== 4) return undefined;
  const sender = ALL.find((s) => a.sig === s.alg.sig && a.digest === s.alg.digest);
  const recipient = ALL.find((s) => a.wrap === s.alg.wrap && a.enc === s.alg.enc);
  return sender && recipient ? { sender, recipient } : undefined;
}

/** The suite whose Authorization scheme starts this header value (`<scheme> keyId=…`). */
export function suiteOfAuthorization(authorization: string): CipherSuite | undefined {
  return ALL.find((s) => authorization.startsWith(s.authScheme + ' '));
}
