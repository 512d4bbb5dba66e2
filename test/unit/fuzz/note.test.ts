/**
 * Checkpoints as C2SP signed notes, and witness cosignatures (services/evidence/note.ts, and the
 * witness in services/evidence/witness.ts): what a regulator's client and witness read from the
 * router, and the router from a witness.
 *
 * note.ts refuses with its own NoteError (codes NOTE_MALFORMED, NOTE_SIGNATURE_INVALID,
 * NOTE_UNSIGNED, CHECKPOINT_MALFORMED), not a DzlError; the properties hold it to that
 * vocabulary, and one test below holds it to the issue's DzlError.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { DzlError, isErrorCode } from '../../../services/common/errors';
import { checkpointBody, cosignatureLine, NOTE_FAILURES, NoteError, openNote, parseCheckpoint, parseVkey, signNote, type NoteVerifier } from '../../../services/evidence/note';
import { Witness } from '../../../services/evidence/witness';
import { bundleWorld, type BundleWorld } from '../../support/bundles';
import { anyInput, editBytes, byteEdit, editText, oddString, textEdit } from './mutations';
import { CALL_BUDGET_MS, checkProperty, describeThrow } from './properties';

const NOTE_CODES = new Set<string>(NOTE_FAILURES);

type NoteOutcome<T> = { accepted: true; value: T } | { accepted: false; code: string };

/** A note parser's answer, or its refusal: a NoteError of its vocabulary (or a DzlError); anything else fails. */
function attemptNote<T>(what: string, call: () => T): NoteOutcome<T> {
  const started = Date.now();
  let outcome: NoteOutcome<T>;
  try {
    outcome = { accepted: true, value: call() };
  } catch (err) {
    if (err instanceof NoteError && NOTE_CODES.has(err.reason)) outcome = { accepted: false, code: err.reason };
    else if (err instanceof DzlError && isErrorCode(err.code)) outcome = { accepted: false, code: err.code };
    else assert.fail(`${what} threw ${describeThrow(err)}; it may refuse only with a NoteError or DzlError of a stable code`);
  }
  assert.ok(Date.now() - started <= CALL_BUDGET_MS, `${what} took ${Date.now() - started} ms`);
  return outcome;
}

/** The body of a signed note and its signature lines, as openNote splits them. */
function split(note: string): { body: string; lines: string[] } {
  const sep = note.lastIndexOf('\n\n');
  return sep < 0 ? { body: '', lines: [] } : { body: note.slice(0, sep + 1), lines: note.slice(sep + 2, -1).split('\n') };
}

describe('fuzz: checkpoints and cosignatures (signed notes)', function () {
  this.timeout(120_000);
  let world: BundleWorld;
  let router: NoteVerifier;
  let witness: NoteVerifier;
  let body: string;
  let note: string;
  let routerLine: string;
  let witnessLine: string;

  before(() => {
    world = bundleWorld();
    router = parseVkey(world.routerVkey);
    witness = parseVkey(world.witnessVkey);
    body = checkpointBody({ origin: world.origin, size: 12, rootHash: Buffer.alloc(32, 0xab) });
    const signed = signNote(body, world.checkpointSigner);
    witnessLine = cosignatureLine(body, world.witnessSigner, 1_780_000_000);
    note = signed + witnessLine;
    routerLine = `${split(signed).lines[0]!}\n`;
    assert.deepEqual(openNote(note, [router, witness]).verifiedBy.sort(), [router.name, witness.name].sort());
  });

  it('openNote refuses random text with a note code', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      oddString,
      fc.tuple(fc.string(), fc.array(fc.tuple(oddString, fc.base64String()), { maxLength: 4 })).map(([b, sigs]) => `${b}\n\n${sigs.map(([n, s]) => `— ${n} ${s}\n`).join('')}`),
    );
    checkProperty('openNote(random)', 400, fc.property(text, (t) => void attemptNote('openNote', () => openNote(t, [router, witness]))));
  });

  it('openNote refuses every edit of the body or of a pinned key\'s signature line, and only with a note code', () => {
    checkProperty(
      'openNote(edited note)',
      400,
      fc.property(fc.array(textEdit, { minLength: 1, maxLength: 3 }), fc.constantFrom('router', 'witness'), (edits, pinned) => {
        const edited = edits.reduce(editText, note);
        const key = pinned === 'router' ? router : witness;
        const outcome = attemptNote('openNote', () => openNote(edited, [key]));
        const { body: b, lines } = split(edited);
        const line = (pinned === 'router' ? routerLine : witnessLine).slice(0, -1);
        if (b !== body || !lines.includes(line)) assert.ok(!outcome.accepted, 'openNote accepted an edited body or signature line');
      }),
    );
  });

  it('openNote refuses every byte edit of a pinned key\'s signature', () => {
    checkProperty(
      'openNote(edited signature bytes)',
      300,
      fc.property(fc.constantFrom('router', 'witness'), byteEdit, (pinned, edit) => {
        const line = pinned === 'router' ? routerLine : witnessLine;
        const [, name, b64] = /^— (\S+) (\S+)\n$/.exec(line)!;
        const bytes = Buffer.from(b64!, 'base64');
        const changed = editBytes(bytes, edit);
        fc.pre(!changed.equals(bytes));
        const edited = note.replace(line, `— ${name} ${changed.toString('base64')}\n`);
        const outcome = attemptNote('openNote', () => openNote(edited, [pinned === 'router' ? router : witness]));
        assert.ok(!outcome.accepted, 'openNote accepted a changed signature');
      }),
    );
  });

  const checkpointBodies = () =>
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.array(textEdit, { minLength: 1, maxLength: 3 }).map((edits) => edits.reduce(editText, body)),
      fc.tuple(oddString, fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 17n }).map(String), oddString), fc.base64String({ minLength: 44, maxLength: 44 })).map(([o, n, r]) => `${o}\n${n}\n${r}\n`),
    );

  it('parseCheckpoint refuses random and edited bodies with CHECKPOINT_MALFORMED', () => {
    checkProperty('parseCheckpoint(random and edited)', 300, fc.property(checkpointBodies(), (b) => void attemptNote('parseCheckpoint', () => parseCheckpoint(b))));
  });

  // FOUND: a 16-digit tree size beyond 2^53 passed parseCheckpoint's pattern and came back as
  // another number (see the regression case below); fixed with a safe-integer check.
  it('what parseCheckpoint accepts is the one spelling of the checkpoint it returns', () => {
    checkProperty(
      'parseCheckpoint(round trip)',
      300,
      fc.property(checkpointBodies(), (b) => {
        const outcome = attemptNote('parseCheckpoint', () => parseCheckpoint(b));
        if (outcome.accepted) assert.equal(checkpointBody(outcome.value), b, 'parseCheckpoint returned a checkpoint that is not the one the text says');
      }),
      [[`dzl.dev/fuzz\n9007199254740993\n${Buffer.alloc(32).toString('base64')}\n`]],
    );
  });

  it('parseVkey refuses random and edited verifier keys with a note code', () => {
    const vkeys = fc.oneof(
      anyInput.filter((v): v is string => typeof v === 'string'),
      fc.array(textEdit, { minLength: 1, maxLength: 3 }).map((edits) => edits.reduce(editText, world.routerVkey)),
      fc.tuple(oddString, fc.stringMatching(/^[0-9a-f]{8}$/), fc.uint8Array({ minLength: 33, maxLength: 33 })).map(([n, id, k]) => `${n}+${id}+${Buffer.from(k).toString('base64')}`),
    );
    checkProperty('parseVkey(random and edited)', 300, fc.property(vkeys, (v) => void attemptNote('parseVkey', () => parseVkey(v))));
  });

  it('a witness cosigns nothing but the router\'s own checkpoint', () => {
    const routerNote = signNote(body, world.checkpointSigner);
    checkProperty(
      'Witness.cosign(edited note)',
      200,
      fc.property(fc.array(textEdit, { minLength: 1, maxLength: 3 }), (edits) => {
        const edited = edits.reduce(editText, routerNote);
        const w = new Witness(world.witnessSigner, world.routerVkey);
        const outcome = attemptNote('Witness.cosign', () => w.cosign(edited, []));
        if (outcome.accepted) assert.equal(split(edited).body, body, 'the witness cosigned a checkpoint the router did not sign');
      }),
    );
  });

  describe('regression cases found by the properties above', () => {
    // FOUND: issue 10 item 9 asks every parser, the checkpoint's included, to refuse with a
    // DzlError of a stable code; note.ts threw its own NoteError (codes outside ERROR_CODES).
    // Fixed: NoteError is a DzlError CHECKPOINT_INVALID, its own reason in details (§19).
    it('a malformed checkpoint note is refused with a DzlError of a stable code', () => {
      try {
        openNote('not a signed note', [router]);
        assert.fail('accepted');
      } catch (err) {
        assert.ok(err instanceof DzlError && isErrorCode(err.code), `threw ${describeThrow(err)}, not a DzlError`);
      }
    });

    // FOUND: a tree size of 16 digits passed the pattern but is beyond 2^53: parseCheckpoint
    // returned another number than the router signed (9007199254740993 → 9007199254740992).
    // Fixed with a Number.isSafeInteger check.
    it('a checkpoint size beyond 2^53 is CHECKPOINT_MALFORMED, not rounded', () => {
      const big = `${world.origin}\n9007199254740993\n${Buffer.alloc(32).toString('base64')}\n`;
      const outcome = attemptNote('parseCheckpoint', () => parseCheckpoint(big));
      assert.ok(!outcome.accepted, `accepted, as size ${outcome.accepted ? outcome.value.size : ''}`);
    });
  });
});
