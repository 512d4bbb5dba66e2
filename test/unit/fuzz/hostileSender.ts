/**
 * A registered party turned hostile: it signs and encrypts, with its real keys, whatever it likes.
 */
import { randomBytes } from 'node:crypto';
import { b64url } from '../../../services/seal/bytes';
import { canonicalJson } from '../../../services/seal/canonical';
import { ciphertextDigestOf, signBytes, type RecipientCertificate, type SealedHop, type SigningIdentity } from '../../../services/seal/hop';
import { suiteNamed, suiteOfKey } from '../../../services/seal/suites/registry';
import { applyJsonEdit, RawJson, setMember, spell, type JsonEdit, type Spelling } from './mutations';

const PLACEHOLDER_DIGEST = 'placeholder-ciphertext-digest';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawJson);

/**
 * What a hostile sender can send: a header edited and spelled as it likes, signed with its real
 * key, with a body it chose encrypted for the real recipient under the AAD the recipient will
 * compute, and a ciphertext digest that matches (unless the edit was to the digest itself), each
 * in its suite: the sender's key's for the signature and digest, the recipient's for wrap and AEAD.
 */
export function sealHostile(
  sender: SigningIdentity,
  to: RecipientCertificate,
  headerText: string,
  edit: JsonEdit | undefined,
  how: Spelling,
  body: Buffer,
  /** A content key of the sender's choosing (any length), wrapped for the recipient, and ciphertext bytes that need not decrypt. */
  raw?: { contentKey: Uint8Array; ciphertext: Uint8Array },
): SealedHop {
  const tree = JSON.parse(headerText) as Record<string, unknown>;
  setMember(tree, 'ciphertextDigest', PLACEHOLDER_DIGEST);
  const edited = edit ? applyJsonEdit(tree, edit) : tree;
  let aad: Buffer = Buffer.alloc(0);
  try {
    const parsed = JSON.parse(spell(edited, 'canonical')) as unknown;
    if (isObject(parsed)) {
      const { ciphertextDigest: _omit, ...rest } = parsed;
      aad = canonicalJson(rest);
    }
  } catch {
    // a header the recipient cannot read: it never gets as far as the AAD
  }
  const recipient = suiteNamed(to.suite);
  const key = raw?.contentKey ?? randomBytes(recipient.contentKeyBytes);
  const iv = randomBytes(12);
  const ciphertext = raw ? Buffer.from(raw.ciphertext) : recipient.sealBody(key, iv, aad, body);
  const wrappedKey = recipient.wrapKey(to.publicKey, key);
  if (isObject(edited) && edited.ciphertextDigest === PLACEHOLDER_DIGEST) {
    setMember(edited, 'ciphertextDigest', ciphertextDigestOf(suiteOfKey(sender.privateKey), wrappedKey, iv, ciphertext));
  }
  const headerBytes = Buffer.from(spell(edited, how), 'utf8');
  return { header: b64url(headerBytes), signature: b64url(signBytes(sender, headerBytes)), wrappedKey: b64url(wrappedKey), iv: b64url(iv), ciphertext: b64url(ciphertext) };
}
