/**
 * Bench-only: the sealed hop of services/seal/hop.ts done with node-forge (pure JavaScript)
 * instead of node:crypto — RSA-PSS SHA-256 signature, RSA-OAEP-256 key wrap, AES-256-GCM of the
 * same canonical body, HMAC-SHA256 manifest digests, SHA-256 ciphertext digest. It produces and
 * accepts the same wire form, so the benchmark checks both ways that node:crypto opens what forge
 * seals and forge opens what node:crypto seals before it times them.
 *
 * Certificate validity, freshness and replay checks are left out: they cost the same either way.
 */
import forge from 'node-forge';
import type { KeyObject } from 'node:crypto';
import { b64url, fromB64url, lengthPrefixed } from '../seal/bytes';
import { canonicalJson, parseCanonical } from '../seal/canonical';
import { HOP_VERSION, manifestOf, unsignedHeader, type FieldValue, type Fields, type HopHeader, type SealRequest, type SealedHop } from '../seal/hop';

type ForgePrivateKey = forge.pki.rsa.PrivateKey;
type ForgePublicKey = forge.pki.rsa.PublicKey;

export interface ForgeParty {
  partyId: string;
  keyId: string;
}
export interface ForgeSigner extends ForgeParty {
  privateKey: ForgePrivateKey;
}
export interface ForgeRecipientCertificate extends ForgeParty {
  publicKey: ForgePublicKey;
}
export interface ForgeRecipient extends ForgeParty {
  privateKey: ForgePrivateKey;
}
export interface ForgeSignerCertificate extends ForgeParty {
  publicKey: ForgePublicKey;
}

export function forgePrivateKey(key: KeyObject): ForgePrivateKey {
  return forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }).toString()) as ForgePrivateKey;
}

export function forgePublicKey(key: KeyObject): ForgePublicKey {
  return forge.pki.publicKeyFromPem(key.export({ type: 'spki', format: 'pem' }).toString()) as ForgePublicKey;
}

/** forge works on "binary strings" (one char per byte). */
const bin = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('binary');
const buf = (s: string): Buffer => Buffer.from(s, 'binary');

const sha256 = () => forge.md.sha256.create();
const pss = () => forge.pss.create({ md: sha256(), mgf: forge.mgf.mgf1.create(sha256()), saltLength: 32 });
const oaep = () => ({ md: sha256(), mgf1: { md: sha256() } });

function digestOf(bytes: Uint8Array): forge.md.MessageDigest {
  return sha256().update(bin(bytes));
}

function fieldDigest(salt: Uint8Array, field: string, value: FieldValue): string {
  const h = forge.hmac.create();
  h.start('sha256', bin(salt));
  h.update(bin(Buffer.from(field, 'utf8')));
  h.update('\u0000');
  h.update(bin(canonicalJson(value)));
  return b64url(buf(h.digest().getBytes()));
}

function ciphertextDigest(wrappedKey: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): string {
  return b64url(buf(digestOf(lengthPrefixed(wrappedKey, iv, ciphertext)).digest().getBytes()));
}

export interface ForgeSealRequest extends Omit<SealRequest, 'to'> {
  to: ForgeRecipientCertificate;
}

export function sealHopForge(sender: ForgeSigner, req: ForgeSealRequest): SealedHop {
  // the header is the same whatever library seals: only the crypto below differs
  const unsigned = unsignedHeader(sender, req.to, req, manifestOf(req.fields, req.salt, req.classOf), buf(forge.random.getBytesSync(16)));
  const key = forge.random.getBytesSync(32);
  const iv = forge.random.getBytesSync(12);
  const cipher = forge.cipher.createCipher('AES-GCM', key);
  cipher.start({ iv, additionalData: bin(canonicalJson(unsigned)), tagLength: 128 });
  cipher.update(forge.util.createBuffer(bin(canonicalJson({ salt: b64url(req.salt), fields: req.fields }))));
  cipher.finish();
  const ciphertext = buf(cipher.output.getBytes() + cipher.mode.tag.getBytes());
  const wrappedKey = buf(req.to.publicKey.encrypt(key, 'RSA-OAEP', oaep()));
  const header: HopHeader = { ...unsigned, ciphertextDigest: ciphertextDigest(wrappedKey, buf(iv), ciphertext) };
  const headerBytes = canonicalJson(header);
  const signature = buf(sender.privateKey.sign(digestOf(headerBytes), pss()));
  return { header: b64url(headerBytes), signature: b64url(signature), wrappedKey: b64url(wrappedKey), iv: b64url(buf(iv)), ciphertext: b64url(ciphertext) };
}

/** Verify (signature, ciphertext digest) and open (unwrap, decrypt, manifest digests) in one go. */
export function verifyAndOpenHopForge(
  hop: SealedHop,
  signerOf: (keyId: string) => ForgeSignerCertificate | undefined,
  me: ForgeRecipient,
): { header: HopHeader; fields: Fields; salt: Buffer } {
  const part = (k: keyof SealedHop) => {
    const b = fromB64url(hop[k]);
    if (!b || b.length === 0) throw new Error(`hop.${k} must be non-empty base64url`);
    return b;
  };
  const headerBytes = part('header');
  const [signature, wrappedKey, iv, ciphertext] = [part('signature'), part('wrappedKey'), part('iv'), part('ciphertext')];
  const header = parseCanonical(headerBytes) as HopHeader | undefined;
  if (!header || header.v !== HOP_VERSION) throw new Error('header is not canonical JSON of a v1 hop');

  const signer = signerOf(header.senderKeyId);
  if (!signer || signer.partyId !== header.from) throw new Error(`no signing certificate ${header.senderKeyId} of ${header.from}`);
  if (!signer.publicKey.verify(digestOf(headerBytes).digest().getBytes(), bin(signature), pss())) throw new Error(`signature of hop ${header.hopId} does not verify`);
  if (ciphertextDigest(wrappedKey, iv, ciphertext) !== header.ciphertextDigest) throw new Error(`ciphertext of hop ${header.hopId} does not match its digest`);

  if (header.to !== me.partyId || header.recipientKeyId !== me.keyId) throw new Error(`hop ${header.hopId} is not for ${me.partyId}`);
  const key = me.privateKey.decrypt(bin(wrappedKey), 'RSA-OAEP', oaep());
  const { ciphertextDigest: _omit, ...aad } = header;
  const decipher = forge.cipher.createDecipher('AES-GCM', key);
  decipher.start({ iv: bin(iv), additionalData: bin(canonicalJson(aad)), tagLength: 128, tag: forge.util.createBuffer(bin(ciphertext.subarray(ciphertext.length - 16))) });
  decipher.update(forge.util.createBuffer(bin(ciphertext.subarray(0, ciphertext.length - 16))));
  if (!decipher.finish()) throw new Error(`hop ${header.hopId} failed AES-GCM authentication`);

  const body = parseCanonical(buf(decipher.output.getBytes())) as { salt?: string; fields?: Fields } | undefined;
  const salt = fromB64url(body?.salt);
  if (!body || !salt || typeof body.fields !== 'object' || body.fields === null) throw new Error(`body of hop ${header.hopId} is not {salt, fields}`);
  const fields = body.fields;
  if (Object.keys(fields).sort().join('\n') !== header.manifest.map((m) => m.field).sort().join('\n')) throw new Error(`hop ${header.hopId}: fields and manifest differ`);
  for (const m of header.manifest) {
    if (fieldDigest(salt, m.field, fields[m.field] as FieldValue) !== m.digest) throw new Error(`hop ${header.hopId}: ${m.field} does not match its digest`);
  }
  return { header, fields, salt };
}
