/**
 * The AES-256 keys a party's vault encrypts with, in a JSON file of its own (mode 0600), kept in
 * a directory apart from the database so that a copy of the data is not a copy of the keys.
 *
 *   {"format":"dzl-keyring/v1","primary":"k-1a2b3c4d","keys":[{"id":"k-1a2b3c4d","key":"<base64>","createdAt":"…"}]}
 *
 * Rotation adds a key and makes it primary; old keys stay so that rows written under them still
 * read. The file is replaced atomically (temp file, fsync, rename), and a running process picks a
 * rotation made by another one (a CLI) up through `reload()`.
 *
 * Key bytes never appear in an error, in `util.inspect` or in JSON output of anything here.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { inspect } from 'node:util';

export const KEYRING_FORMAT = 'dzl-keyring/v1';
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const DEFAULT_RELOAD_INTERVAL_MS = 1000;

export type KeyringErrorCode =
  | 'KEYRING_NOT_FOUND'
  | 'KEYRING_MALFORMED'
  | 'KEYRING_TOO_OPEN'
  | 'KEYRING_KEY_CHANGED'
  | 'KEYRING_BUSY';

export class KeyringError extends Error {
  override readonly name = 'KeyringError';
  constructor(readonly code: KeyringErrorCode, message: string) {
    super(message);
  }
}

/** An AES-256 key and its id. `key` is not enumerable, so spreading or serialising the handle drops it. */
export interface KeyringKey {
  readonly id: string;
  readonly key: Buffer;
}

export interface KeyInfo {
  id: string;
  createdAt: string;
}

export interface KeyringOptions {
  /** Write a keyring with one fresh key when the file does not exist. */
  create?: boolean;
  /** `reload()` looks at the file at most this often (default 1000 ms). */
  reloadIntervalMs?: number;
}

interface KeyringState {
  primary: string;
  keys: Map<string, { key: Buffer; createdAt: string }>;
}

interface FileMark {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export class Keyring {
  private checkedAt: number;

  private constructor(
    readonly path: string,
    private state: KeyringState,
    private mark: FileMark,
    private readonly reloadIntervalMs: number,
  ) {
    this.checkedAt = Date.now();
  }

  static open(path: string, opts: KeyringOptions = {}): Keyring {
    const file = resolve(path);
    const interval = opts.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS;
    if (!(interval >= 0)) throw new RangeError('reloadIntervalMs must be zero or more');
    if (opts.create && statOrUndefined(file) === undefined) createKeyringFile(file);
    const { state, mark } = readKeyringFile(file);
    return new Keyring(file, state, mark, interval);
  }

  primary(): KeyringKey {
    return keyHandle(this.state.primary, this.state.keys.get(this.state.primary)!.key);
  }

  get(id: string): KeyringKey | undefined {
    const entry = this.state.keys.get(id);
    return entry ? keyHandle(id, entry.key) : undefined;
  }

  /** Ids and dates only, for status output. */
  info(): { primary: string; keys: KeyInfo[] } {
    return { primary: this.state.primary, keys: [...this.state.keys].map(([id, k]) => ({ id, createdAt: k.createdAt })) };
  }

  /**
   * Adds a fresh key, makes it primary and replaces the file atomically. Starts from what is on
   * disk, not from memory, so a rotation made meanwhile by another process is kept. Two rotations
   * at once are refused rather than merged: the loser would otherwise drop the winner's key.
   */
  rotate(): KeyInfo {
    const lock = `${this.path}.lock`;
    let fd: number;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new KeyringError('KEYRING_BUSY', `another rotation holds ${lock}; retry, or remove the lock file if no rotation is running`);
      }
      throw err;
    }
    try {
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      this.apply(readKeyringFile(this.path));
      const id = freshKeyId(this.state.keys);
      const createdAt = new Date().toISOString();
      const keys = new Map(this.state.keys).set(id, { key: randomBytes(KEY_BYTES), createdAt });
      writeFileAtomically(this.path, serialise({ primary: id, keys }), 'replace');
      this.apply(readKeyringFile(this.path));
      return { id, createdAt };
    } finally {
      unlinkSync(lock);
    }
  }

  /**
   * Re-reads the file when it changed since last read; true when it did. Cheap to call before
   * every use: it looks at the file at most once per `reloadIntervalMs` unless forced.
   */
  reload(opts: { force?: boolean } = {}): boolean {
    const now = Date.now();
    if (!opts.force && now - this.checkedAt < this.reloadIntervalMs) return false;
    this.checkedAt = now;
    const st = statOrUndefined(this.path);
    if (st === undefined) throw new KeyringError('KEYRING_NOT_FOUND', `the keyring ${this.path} is gone; restore it from the key backup`);
    if (sameMark(markOf(st), this.mark)) return false;
    this.apply(readKeyringFile(this.path));
    return true;
  }

  /** A key id that reappears with other bytes would make every row under it unreadable: refuse it. */
  private apply(next: { state: KeyringState; mark: FileMark }): void {
    for (const [id, k] of next.state.keys) {
      const known = this.state.keys.get(id);
      if (known && !known.key.equals(k.key)) {
        throw new KeyringError('KEYRING_KEY_CHANGED', `key ${id} in ${this.path} no longer matches the key this process holds under that id; the file was replaced by another keyring`);
      }
    }
    this.state = next.state;
    this.mark = next.mark;
  }

  [inspect.custom](): string {
    return `Keyring { path: ${this.path}, primary: ${this.state.primary}, keys: [${[...this.state.keys.keys()].join(', ')}] }`;
  }

  toJSON(): { path: string; primary: string; keys: string[] } {
    return { path: this.path, primary: this.state.primary, keys: [...this.state.keys.keys()] };
  }
}

function keyHandle(id: string, key: Buffer): KeyringKey {
  const handle = { id } as { id: string; key: Buffer };
  Object.defineProperty(handle, 'key', { value: key, enumerable: false });
  return Object.freeze(handle);
}

function freshKeyId(taken: Map<string, unknown>): string {
  for (;;) {
    const id = `k-${randomBytes(4).toString('hex')}`;
    if (!taken.has(id)) return id;
  }
}

function createKeyringFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const id = freshKeyId(new Map());
  const keys = new Map([[id, { key: randomBytes(KEY_BYTES), createdAt: new Date().toISOString() }]]);
  // two processes creating at once: the first one's file stands, the second reads it
  writeFileAtomically(file, serialise({ primary: id, keys }), 'create');
}

function serialise(state: KeyringState): string {
  const keys = [...state.keys].map(([id, k]) => ({ id, key: k.key.toString('base64'), createdAt: k.createdAt }));
  return `${JSON.stringify({ format: KEYRING_FORMAT, primary: state.primary, keys }, null, 2)}\n`;
}

function readKeyringFile(file: string): { state: KeyringState; mark: FileMark } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyringError('KEYRING_NOT_FOUND', `no keyring at ${file}; create one (open with create) or restore it from the key backup`);
    }
    throw err;
  }
  let text: string;
  let st: Stats;
  try {
    // the open file, not the path: a rename between the two would pair new bytes with an old mark
    st = fstatSync(fd);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new KeyringError('KEYRING_TOO_OPEN', `the keyring ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  return { state: parseKeyring(file, text), mark: markOf(st) };
}

/** Fails closed on anything but the exact format. Messages never quote the file: it holds keys. */
function parseKeyring(file: string, text: string): KeyringState {
  const malformed = (why: string) => new KeyringError('KEYRING_MALFORMED', `the keyring ${file} is malformed: ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed('not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw malformed('not an object');
  const { format, primary, keys } = doc as Record<string, unknown>;
  if (format !== KEYRING_FORMAT) throw malformed(`format is not ${KEYRING_FORMAT}`);
  if (!Array.isArray(keys) || keys.length === 0) throw malformed('keys is not a non-empty list');
  const out = new Map<string, { key: Buffer; createdAt: string }>();
  keys.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw malformed(`keys[${i}] is not an object`);
    const { id, key, createdAt } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || !KEY_ID.test(id)) throw malformed(`keys[${i}].id is not 1-32 of A-Z a-z 0-9 _ -`);
    if (out.has(id)) throw malformed(`key ${id} appears twice`);
    if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) throw malformed(`key ${id} has no createdAt date`);
    const bytes = typeof key === 'string' ? Buffer.from(key, 'base64') : undefined;
    if (!bytes || bytes.length !== KEY_BYTES || bytes.toString('base64') !== key) throw malformed(`key ${id} is not ${KEY_BYTES} bytes of base64`);
    out.set(id, { key: bytes, createdAt });
  });
  if (typeof primary !== 'string' || !out.has(primary)) throw malformed('primary does not name one of its keys');
  return { primary, keys: out };
}

/**
 * Writes a temp file beside the target (same file system, so the rename is atomic), fsyncs it,
 * then renames it over the target ('replace') or links it in place only if no file is there
 * ('create'), and fsyncs the directory so the new name survives a crash.
 */
function writeFileAtomically(file: string, text: string, mode: 'create' | 'replace'): void {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (mode === 'replace') {
      renameSync(temp, file);
    } else {
      try {
        linkSync(temp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      unlinkSync(temp);
    }
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // already renamed or never written
    }
    throw err;
  }
  fsyncDirectory(dir);
}

function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (err) {
    // some platforms cannot fsync a directory; the rename itself is still atomic there
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function markOf(st: Stats): FileMark {
  return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

function sameMark(a: FileMark, b: FileMark): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
