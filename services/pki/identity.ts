import { createPrivateKey } from 'node:crypto';
import type { PartyPrivateKey } from '../seal/suites/registry';
import type { RecipientIdentity, SigningIdentity } from '../seal/hop';
import { isSm2KeyPem, sm2PrivateKeyFromPem } from './sm2';

/** A party's own keys: what it signs with, what it opens hops with, and its mutual-TLS pair. */
export interface PartyIdentity {
  partyId: string;
  signing: SigningIdentity;
  recipient: RecipientIdentity;
  tls: { keyPem: string; certPem: string };
  caPem: string;
}

/**
 * A private key file of either suite: SM2 in PKCS#8 (dzl's, or `openssl genpkey -algorithm SM2`),
 * anything else for node:crypto (RSA in PKCS#1 or PKCS#8). The key's type then says its suite.
 */
export function privateKeyFromPem(pem: string): PartyPrivateKey {
  return isSm2KeyPem(pem) ? sm2PrivateKeyFromPem(pem) : createPrivateKey(pem);
}
