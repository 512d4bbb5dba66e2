/**
 * Checkpoints as C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint) and witness
 * cosignatures (c2sp.org/tlog-cosignature, cosignature/v1), with Ed25519 from node:crypto.
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n            ← the note body (a checkpoint)
 *   \n
 *   — <key name> base64(key ID[4] ‖ signature)\n          ← one line per signature
 *
 * key ID = SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]; type 0x01 = Ed25519 note signature,
 * 0x04 = timestamped Ed25519 cosignature (signature = u64 timestamp ‖ Ed25519 over
 * "cosignature/v1\ntime <t>\n" ‖ body). A verifier key ("vkey") is name+hex(key ID)+base64(type ‖ key).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { DzlError } from '../common/errors';

export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;
type SigType = typeof SIG_ED25519 | typeof SIG_COSIGNATURE_V1;

/** The last second a JavaScript Date can hold (8.64e15 ms). */
const MAX_COSIGNATURE_SECONDS = 8_640_000_000_000n;

export const NOTE_FAILURES = ['NOTE_MALFORMED', 'NOTE_SIGNATURE_INVALID', 'NOTE_UNSIGNED', 'CHECKPOINT_MALFORMED'] as const;
export type NoteFailure = (typeof NOTE_FAILURES)[number];

/** A signed note or checkpoint that cannot be taken: CHECKPOINT_INVALID, with the note's own reason. */
export class NoteError extends DzlError {
  constructor(readonly reason: NoteFailure, message: string) {
    super('CHECKPOINT_INVALID', message, { reason });
  }
}

export interface NoteVerifier {
  name: string;
  type: SigType;
  keyId: Buffer;
  publicKey: KeyObject;
  vkey: string;
}

export interface NoteSigner extends NoteVerifier {
  privateKey: KeyObject;
}

const NAME = /^[^\s+]+$/;

function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url');
}

function keyIdOf(name: string, type: SigType, raw: Buffer): Buffer {
  return createHash('sha256').update(name).update(Buffer.from([0x0a, type])).update(raw).digest().subarray(0, 4);
}

function verifierFrom(name: string, type: SigType, publicKey: KeyObject): NoteVerifier {
  if (!NAME.test(name)) throw new NoteError('NOTE_MALFORMED', 'a key name must be non-empty, without spaces or +');
  const raw = rawPublicKey(publicKey);
  const keyId = keyIdOf(name, type, raw);
  return { name, type, keyId, publicKey, vkey: `${name}+${keyId.toString('hex')}+${Buffer.concat([Buffer.from([type]), raw]).toString('base64')}` };
}

/** A new Ed25519 note key; `type` 0x04 makes it a witness (cosigner) key. */
export function generateNoteKey(name: string, type: SigType = SIG_ED25519): { signer: NoteSigner; privateKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { signer: { ...verifierFrom(name, type, publicKey), privateKey }, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export function noteSignerFromPem(name: string, privateKeyPem: string, type: SigType = SIG_ED25519): NoteSigner {
  const privateKey = createPrivateKey(privateKeyPem);
  return { ...verifierFrom(name, type, createPublicKey(privateKey)), privateKey };
}

export function parseVkey(vkey: string): NoteVerifier {
  // the base64 part may itself contain '+': split at the first two only
  const a = vkey.indexOf('+');
  const b = vkey.indexOf('+', a + 1);
  const name = a > 0 ? vkey.slice(0, a) : '';
  const hexId = b > a ? vkey.slice(a + 1, b) : '';
  const material = b > a ? Buffer.from(vkey.slice(b + 1), 'base64') : Buffer.alloc(0);
  const type = material[0];
  if (!name || !/^[0-9a-f]{8}$/.test(hexId) || material.length !== 33 || (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1)) {
    throw new NoteError('NOTE_MALFORMED', 'a vkey is name+hex key id+base64(0x01|0x04 ‖ 32-byte Ed25519 key)');
  }
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: material.subarray(1).toString('base64url') }, format: 'jwk' });
  const v = verifierFrom(name, type, publicKey);
  if (v.keyId.toString('hex') !== hexId) throw new NoteError('NOTE_MALFORMED', 'a vkey\'s key id does not match its key');
  return v;
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
}

export function checkpointBody(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.rootHash.toString('base64')}\n`;
}

export function parseCheckpoint(body: string): Checkpoint {
  const lines = body.split('\n');
  const [origin, size, root] = lines;
  const rootHash = Buffer.from(root ?? '', 'base64');
  // a size a JavaScript number holds exactly (2^53 − 1), never a rounded one; no extension lines (§20.4)
  if (!origin || !size || !/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size)) || rootHash.length !== 32 || rootHash.toString('base64') !== root || lines.length !== 4 || lines[3] !== '') {
    throw new NoteError('CHECKPOINT_MALFORMED', 'a checkpoint body is origin, decimal tree size and base64 SHA-256 root, each on its own line');
  }
  return { origin, size: Number(size), rootHash };
}

function signatureLine(name: string, bytes: Buffer): string {
  return `— ${name} ${bytes.toString('base64')}\n`;
}

export function signNote(body: string, signer: NoteSigner): string {
  if (signer.type !== SIG_ED25519) throw new NoteError('NOTE_MALFORMED', 'a note is signed with a 0x01 key; 0x04 keys cosign');
  const sig = sign(null, Buffer.from(body, 'utf8'), signer.privateKey);
  return `${body}\n${signatureLine(signer.name, Buffer.concat([signer.keyId, sig]))}`;
}

function cosignedMessage(body: string, timestamp: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${body}`, 'utf8');
}

/** A witness's cosignature line for a checkpoint body (append it to the note's signatures). */
export function cosignatureLine(body: string, witness: NoteSigner, timestamp = Math.floor(Date.now() / 1000)): string {
  if (witness.type !== SIG_COSIGNATURE_V1) throw new NoteError('NOTE_MALFORMED', 'cosignatures use a 0x04 key');
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(timestamp));
  const sig = sign(null, cosignedMessage(body, timestamp), witness.privateKey);
  return signatureLine(witness.name, Buffer.concat([witness.keyId, ts, sig]));
}

export interface OpenedNote {
  body: string;
  /** Names of the known keys whose signatures verified. */
  verifiedBy: string[];
  /** Cosignature times by witness name (POSIX seconds). */
  cosignedAt: Record<string, number>;
}

/**
 * Verifies a signed note against known keys. Unknown keys' lines are ignored; a known key's
 * line that fails makes the whole note fail; at least one known key must have signed.
 */
export function openNote(text: string, known: NoteVerifier[]): OpenedNote {
  const sep = text.lastIndexOf('\n\n');
  if (sep < 0 || !text.endsWith('\n')) throw new NoteError('NOTE_MALFORMED', 'a signed note is text, a blank line, then signature lines');
  const body = text.slice(0, sep + 1);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x09\x0b-\x1f]/.test(text)) throw new NoteError('NOTE_MALFORMED', 'a signed note may contain no control characters but newline');
  const lines = text.slice(sep + 2, -1).split('\n');
  const out: OpenedNote = { body, verifiedBy: [], cosignedAt: {} };
  for (const [index, line] of lines.entries()) {
    const m = /^— (\S+) ([A-Za-z0-9+/]+=*)$/.exec(line);
    if (!m) throw new NoteError('NOTE_MALFORMED', `signature line ${index + 1} is not "— <name> <base64>"`);
    const name = m[1]!;
    const bytes = Buffer.from(m[2]!, 'base64');
    // one text per signature: lenient base64 would let the note's text change under valid signatures
    if (bytes.toString('base64') !== m[2]) throw new NoteError('NOTE_MALFORMED', `signature line ${index + 1} is not canonical base64`);
    const key = known.find((k) => k.name === name && bytes.length >= 4 && k.keyId.equals(bytes.subarray(0, 4)));
    if (!key) continue;
    let ok: boolean;
    if (key.type === SIG_ED25519) {
      ok = bytes.length === 68 && verify(null, Buffer.from(body, 'utf8'), key.publicKey, bytes.subarray(4));
    } else {
      const timestamp = bytes.length === 76 ? bytes.readBigUInt64BE(4) : -1n;
      // a time a date can hold (the verifier prints it): later is no cosignature anyone made
      ok = timestamp >= 0n && timestamp <= MAX_COSIGNATURE_SECONDS && verify(null, cosignedMessage(body, Number(timestamp)), key.publicKey, bytes.subarray(12));
      if (ok) out.cosignedAt[name] = Number(timestamp);
    }
    if (!ok) throw new NoteError('NOTE_SIGNATURE_INVALID', `signature by ${name} does not verify`);
    out.verifiedBy.push(name);
  }
  if (out.verifiedBy.length === 0) throw new NoteError('NOTE_UNSIGNED', 'no signature by a known key');
  return out;
}

export type CosignatureErrorCode = 'COSIGNATURE_NOT_ONE_LINE' | 'COSIGNATURE_WRONG_KEY' | 'COSIGNATURE_NOT_V1' | 'COSIGNATURE_SIGNATURE_INVALID';

/** Why a witness's submission was refused; `code` is stable. */
export class CosignatureError extends Error {
  override readonly name = 'CosignatureError';
  constructor(
    readonly code: CosignatureErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface AcceptedCosignature {
  /** The line as the log stores and serves it: re-encoded from the verified bytes, never the witness's text. */
  line: string;
  timestamp: number;
}

/**
 * A witness's submission for checkpoint `body`, accepted only if it is exactly one signature line
 * (an optional final newline, nothing else) by `witness`'s own name and key id, of the
 * cosignature/v1 form (key id ‖ u64 time ‖ Ed25519), that verifies over `body`. Anything more
 * would be merged into the note every verifier reads: a second line posing as the router with a
 * bad signature, or a malformed one, would make a valid checkpoint fail for everyone.
 */
export function acceptCosignature(body: string, submission: unknown, witness: NoteVerifier): AcceptedCosignature {
  if (witness.type !== SIG_COSIGNATURE_V1) throw new CosignatureError('COSIGNATURE_WRONG_KEY', `${witness.name} is not a cosignature/v1 (0x04) key`);
  const text = typeof submission === 'string' ? submission.replace(/\n$/, '') : undefined;
  const m = text !== undefined ? /^— (\S+) ([A-Za-z0-9+/]+=*)$/.exec(text) : null;
  if (!m) throw new CosignatureError('COSIGNATURE_NOT_ONE_LINE', 'a cosignature is exactly one line "— <witness name> <base64 signature>"');
  const bytes = Buffer.from(m[2]!, 'base64');
  if (bytes.toString('base64') !== m[2]) throw new CosignatureError('COSIGNATURE_NOT_ONE_LINE', 'the signature is not canonical base64');
  if (m[1] !== witness.name || bytes.length < 4 || !witness.keyId.equals(bytes.subarray(0, 4))) {
    throw new CosignatureError('COSIGNATURE_WRONG_KEY', `the line is not by ${witness.name} (key id ${witness.keyId.toString('hex')}), the witness submitting it`);
  }
  if (bytes.length !== 4 + 8 + 64) throw new CosignatureError('COSIGNATURE_NOT_V1', `a cosignature/v1 signature is 76 bytes (key id, time, Ed25519), got ${bytes.length}`);
  const timestamp = bytes.readBigUInt64BE(4);
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) throw new CosignatureError('COSIGNATURE_NOT_V1', 'the cosignature time is out of range');
  if (!verify(null, cosignedMessage(body, Number(timestamp)), witness.publicKey, bytes.subarray(12))) {
    throw new CosignatureError('COSIGNATURE_SIGNATURE_INVALID', `the cosignature by ${witness.name} does not verify over this checkpoint`);
  }
  return { line: signatureLine(witness.name, bytes), timestamp: Number(timestamp) };
}

/** Whether `line` is one well-formed signature line (what the log serves of stored cosignatures). */
export function isSignatureLine(line: string): boolean {
  return /^— \S+ [A-Za-z0-9+/]+=*\n$/.test(line);
}
