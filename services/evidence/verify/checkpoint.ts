/**
 * (b) The checkpoint: a C2SP signed note by the pinned router key, under the pinned origin, and
 * cosigned by every witness the caller requires. Signatures by keys not pinned are listed, never
 * trusted.
 */
import { NoteError, openNote, parseCheckpoint, parseVkey, type Checkpoint, type NoteVerifier } from '../note';
import { explain, type Checks } from './report';
import { isString } from './types';

const SIGNATURE_LINE = /^— (\S+) ([A-Za-z0-9+/]+=*)$/;

function signatureLineNames(text: string): string[] {
  const sep = text.lastIndexOf('\n\n');
  if (sep < 0) return [];
  return text
    .slice(sep + 2)
    .split('\n')
    .map((line) => SIGNATURE_LINE.exec(line)?.[1])
    .filter(isString);
}

function keyLabel(v: NoteVerifier): string {
  return `${v.name} (key id ${v.keyId.toString('hex')})`;
}

export interface TrustRoots {
  routerVkey: string;
  origin: string;
  witnessVkeys: string[];
}

export interface CheckpointResult {
  checkpoint?: Checkpoint;
  witnessedBy: string[];
}

function pinnedKeys(roots: TrustRoots, checks: Checks): { router?: NoteVerifier; witnesses: NoteVerifier[] } {
  let router: NoteVerifier | undefined;
  try {
    router = parseVkey(roots.routerVkey);
  } catch (err) {
    checks.fail('TRUST_ROUTER_KEY_INVALID', 'router key', `router key: ${explain(err)}`);
  }
  const witnesses: NoteVerifier[] = [];
  roots.witnessVkeys.forEach((vkey, i) => {
    try {
      witnesses.push(parseVkey(vkey));
    } catch (err) {
      checks.fail('TRUST_WITNESS_KEY_INVALID', 'witness key', `required witness key ${i + 1}: ${explain(err)}`);
    }
  });
  // C2SP tlog-checkpoint: a client checks the origin line against the log it expects
  if (!roots.origin || /[\n\r]/.test(roots.origin)) checks.fail('TRUST_ORIGIN_INVALID', 'log origin', 'the pinned log origin is empty or not one line');
  return { ...(router ? { router } : {}), witnesses };
}

function checkSignedBy(text: string, key: NoteVerifier, check: string, unsigned: string, checks: Checks): ReturnType<typeof openNote> | undefined {
  try {
    return openNote(text, [key]);
  } catch (err) {
    if (err instanceof NoteError && err.reason === 'NOTE_UNSIGNED') checks.fail(key.type === 0x01 ? 'CHECKPOINT_NOT_SIGNED' : 'CHECKPOINT_NOT_WITNESSED', check, unsigned);
    else if (err instanceof NoteError && err.reason === 'NOTE_SIGNATURE_INVALID') {
      checks.fail(key.type === 0x01 ? 'CHECKPOINT_SIGNATURE_INVALID' : 'CHECKPOINT_COSIGNATURE_INVALID', check, `checkpoint: ${err.message}`);
    } else checks.fail('CHECKPOINT_MALFORMED', check, `checkpoint: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

export function checkCheckpoint(text: string | undefined, roots: TrustRoots, checks: Checks): CheckpointResult {
  const out: CheckpointResult = { witnessedBy: [] };
  const { router, witnesses } = pinnedKeys(roots, checks);
  if (text === undefined) return out;

  if (router) {
    const check = `checkpoint signed by router key ${router.name}`;
    if (checkSignedBy(text, router, check, `checkpoint: not signed by the router key ${keyLabel(router)}`, checks)) checks.pass(check);
  }
  for (const w of witnesses) {
    const check = `checkpoint cosigned by witness ${w.name}`;
    const opened = checkSignedBy(text, w, check, `checkpoint: required witness ${keyLabel(w)} did not cosign`, checks);
    if (!opened) continue;
    const at = opened.cosignedAt[w.name];
    checks.pass(check, at !== undefined ? `cosigned at ${new Date(at * 1000).toISOString()}` : undefined);
    out.witnessedBy.push(w.name);
  }
  const pinned = new Set([router?.name, ...witnesses.map((w) => w.name)]);
  const unpinned = signatureLineNames(text).filter((n) => !pinned.has(n));
  if (unpinned.length > 0) checks.pass('checkpoint signatures by keys not pinned', `ignored, not verified: ${unpinned.join(', ')}`);

  const sep = text.lastIndexOf('\n\n');
  try {
    if (sep < 0) throw new NoteError('NOTE_MALFORMED', 'a signed note is text, a blank line, then signature lines');
    const cp = parseCheckpoint(text.slice(0, sep + 1));
    if (roots.origin && cp.origin !== roots.origin) {
      checks.fail('CHECKPOINT_ORIGIN_MISMATCH', 'checkpoint body', `checkpoint: origin ${JSON.stringify(cp.origin)} is not the pinned log ${JSON.stringify(roots.origin)}`);
      return out;
    }
    out.checkpoint = cp;
    checks.pass('checkpoint body', `origin ${cp.origin}, tree size ${cp.size}, root ${cp.rootHash.toString('base64')}`);
  } catch (err) {
    checks.fail('CHECKPOINT_MALFORMED', 'checkpoint body', `checkpoint: ${err instanceof Error ? err.message : String(err)}`);
  }
  return out;
}
