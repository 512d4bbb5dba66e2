/**
 * A cipher suite: every cryptographic operation the envelope and its signed companions (receipts,
 * notices, request signatures, redirect and link tokens) need, for one family of algorithms.
 * contracts/envelope.md §22 specifies the suites byte for byte; ./registry.ts finds one by the
 * identifiers of a header's `alg`, by a key, or by name.
 *
 * A hop uses two suites at once: the sender's for what the sender commits to (the signature, the
 * manifest digests, the ciphertext and header digests) and the recipient's for what only the
 * recipient undoes (the key wrap and the body's AEAD). A certificate says which suite its party
 * uses by its key algorithm; a key object says it by its type.
 */
import type { KeyObject } from 'node:crypto';
import type { Sm2PrivateKey, Sm2PublicKey } from './sm2';

/** `RSA`: RSA-PSS, RSA-OAEP, AES-256-GCM, SHA-256. `SM`: SM2, SM4-GCM, SM3 (GM/T 0003, 0002, 0004). */
export const SUITE_NAMES = ['RSA', 'SM'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/** An RSA key is a node:crypto KeyObject (the hot path stays native); an SM2 key is dzl's own. */
export type PartyPrivateKey = KeyObject | Sm2PrivateKey;
export type PartyPublicKey = KeyObject | Sm2PublicKey;

/** The four members of a hop header's `alg` (envelope.md §4.1, §22.1). */
export interface HopAlgorithms {
  sig: string;
  enc: string;
  wrap: string;
  digest: string;
}

export interface CipherSuite {
  readonly name: SuiteName;
  /** The identifiers this suite writes into `alg`: `sig` and `digest` as a sender, `wrap` and `enc` as a recipient. */
  readonly alg: Readonly<HopAlgorithms>;
  /** The HTTP Authorization scheme of a request signed in this suite (envelope.md §17). */
  readonly authScheme: string;
  /** Length of the content key `enc` takes and `wrap` carries. */
  readonly contentKeyBytes: number;

  /** Whether a key belongs to this suite (and so its operations accept it). */
  owns(key: PartyPrivateKey | PartyPublicKey): boolean;

  sign(key: PartyPrivateKey, message: Uint8Array): Buffer;
  /** False for any signature that does not verify, malformed ones included; never throws on input. */
  verify(key: PartyPublicKey, message: Uint8Array, signature: Uint8Array): boolean;

  wrapKey(recipient: PartyPublicKey, contentKey: Uint8Array): Buffer;
  /** The content key, or undefined when it was not wrapped for this key. */
  unwrapKey(key: PartyPrivateKey, wrapped: Uint8Array): Buffer | undefined;

  /** AEAD: ciphertext ‖ 16-byte tag. */
  sealBody(contentKey: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer;
  /** The plaintext, or undefined when the tag does not authenticate. */
  openBody(contentKey: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | undefined;

  /** The suite's hash: ciphertext and header digests, notice digests, request body hashes. */
  hash(...parts: Uint8Array[]): Buffer;
  /** The suite's MAC: manifest field digests under the application's salt. */
  hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer;
}
