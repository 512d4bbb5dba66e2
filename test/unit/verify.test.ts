import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerVerifyCommand } from '../../services/cli/verifyCommand';
import type { EvidenceBundle } from '../../services/evidence/bundle';
import type { HopLeaf, ReceiptLeaf } from '../../services/ledger/ledger';
import { generateNoteKey } from '../../services/evidence/note';
import { CHECK_CODES, createVerifierCache, verifyBundle, type CheckCode, type VerifyReport } from '../../services/evidence/verify';
import { b64url, fromB64url } from '../../services/seal/bytes';
import { canonicalJson } from '../../services/seal/canonical';
import {
  BANK,
  CHANNEL,
  CREDIT_REPORT_FIELDS,
  PLATFORM,
  TestLog,
  applicationBundle,
  bundleWorld,
  dataChannelFlow,
  hopLeaf,
  partyLeaf,
  seal,
  type BundleWorld,
  type Flow,
} from '../support/bundles';
import { SAMPLE_FIELDS } from '../support/fixtures';
import { tempDir } from '../support/env';

/** Deterministic positions for the sweeps (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every position of a small piece; ~40 seeded positions of a large one. */
function positions(length: number, rand: () => number, sample = 40): number[] {
  if (length <= 64) return [...Array(length).keys()];
  const picked = new Set<number>();
  while (picked.size < Math.min(sample, length)) picked.add(Math.floor(rand() * length));
  return [...picked].sort((a, b) => a - b);
}

function flip(bytes: Buffer, i: number): Buffer {
  const out = Buffer.from(bytes);
  out[i] = out[i]! ^ 0x01;
  return out;
}

const clone = (b: EvidenceBundle): EvidenceBundle => JSON.parse(JSON.stringify(b)) as EvidenceBundle;

describe('evidence bundle verifier', function () {
  this.timeout(120_000);
  let world: BundleWorld;
  let flow: Flow;
  let good: EvidenceBundle;
  const cache = createVerifierCache();

  const verify = (bundle: unknown, over: Partial<Parameters<typeof verifyBundle>[0]> = {}): VerifyReport =>
    verifyBundle({ bundle, caPem: world.caPem, routerVkey: world.routerVkey, origin: world.origin, requireWitnesses: [world.witnessVkey], cache, ...over });

  /** The failed checks as [code, cause]: what tests assert, never message text. */
  const failed = (r: VerifyReport) => r.checks.filter((c) => !c.ok).map((c) => [c.code, c.cause]);
  const withCause = (r: VerifyReport, cause: string) => r.checks.filter((c) => !c.ok && c.cause === cause);

  before(() => {
    world = bundleWorld();
    flow = dataChannelFlow(world);
    good = applicationBundle(flow);
  });

  describe('an honest application bundle', () => {
    it('verifies, with the counts of what it holds and the witness that cosigned', () => {
      // No cache here: the path a one-off verification takes.
      const r = verifyBundle({ bundle: good, caPem: world.caPem, routerVkey: world.routerVkey, origin: world.origin, requireWitnesses: [world.witnessVkey] });
      assert.deepEqual(r.failures, []);
      assert.equal(r.ok, true);
      assert.deepEqual(r.scope, { kind: 'application', applicationId: flow.applicationId });
      assert.equal(r.treeSize, flow.log.leaves.length);
      const names = r.checks.map((c) => c.check);
      assert.deepEqual(r.summary, {
        leaves: 11,
        hops: 3,
        receipts: 3,
        refusals: 1,
        parties: 3,
        consents: 1,
        withdrawals: 0,
        expiries: 0,
        notices: 0,
        acknowledgements: 0,
        deletions: 0,
        provenance: [],
        witnessedBy: [world.witnessSigner.name],
      });
      // No lifecycle leaves: none of their checks runs.
      for (const absent of ['consent state', 'notice', 'acknowledgement', 'deletion']) assert.ok(!names.includes(absent), `unexpected check ${absent}`);
      for (const expected of ['bundle structure', `checkpoint signed by router key ${world.checkpointSigner.name}`, 'leaf inclusion', 'certificate', 'hop signature', 'receipt', 'routing']) {
        assert.ok(names.includes(expected), `missing check ${expected}`);
      }
      const refusal = r.checks.find((c) => c.check.startsWith('refusal at index'));
      assert.equal(refusal?.check, `refusal at index ${flow.own.at(-1)}: HOP_SIGNATURE_INVALID at intake`);
      assert.equal(refusal?.ok, true);
    });

    it('reports an unpinned cosigner as ignored, and verifies without requiring witnesses', () => {
      const r = verify(good, { requireWitnesses: [] });
      assert.equal(r.ok, true, r.failures.join('\n'));
      assert.deepEqual(r.summary.witnessedBy, []);
      const note = r.checks.find((c) => c.check === 'checkpoint signatures by keys not pinned');
      assert.match(note?.reason ?? '', new RegExp(world.witnessSigner.name));
    });

    it('calls onProgress up to (total, total)', () => {
      const calls: [number, number][] = [];
      verify(good, { onProgress: (d, t) => calls.push([d, t]) });
      assert.ok(calls.length >= 1);
      const [done, total] = calls.at(-1)!;
      assert.equal(done, total);
      assert.equal(total, 3 * good.leaves.length);
    });
  });

  describe('a complete bundle (direct-connection audit)', () => {
    it('recomputes the root from every leaf and shows there is no platform → bank hop', () => {
      const bundle = applicationBundle(flow, { complete: true });
      assert.ok(bundle.leaves.every((l) => l.proof === undefined));
      const r = verify(bundle);
      assert.deepEqual(r.failures, []);
      assert.equal(r.ok, true);
      assert.equal(r.summary.leaves, flow.log.leaves.length);
      const audit = r.checks.find((c) => c.check.startsWith('no platform → bank hop in the log'));
      assert.equal(audit?.check, 'no platform → bank hop in the log (3 hops checked)');
      assert.equal(audit?.ok, true);
      assert.ok(r.checks.some((c) => c.check === 'complete log' && c.ok));
      const refusals = r.checks.filter((c) => c.check.startsWith('refusal at index'));
      assert.equal(refusals.length, 1 + flow.unrelated.length);
      assert.ok(refusals.every((c) => c.ok));
      assert.ok(refusals.some((c) => /^refusal at index \d+: HOP_EXPIRED at intake$/.test(c.check)));
    });

    it('fails when the log holds a platform → bank hop with personal fields: DIRECT_CONNECTION_REFUSED', () => {
      const f = dataChannelFlow(world, { applicationId: 'app_direct_1' });
      const direct = seal(world, world.platform, BANK, { applicationId: f.applicationId, consentRef: f.consent.id, kind: 'application', fields: SAMPLE_FIELDS });
      const at = f.log.append(hopLeaf(direct));
      const r = verify(f.log.bundle(world, { complete: true }));
      assert.equal(r.ok, false);
      const refused = withCause(r, 'DIRECT_CONNECTION_REFUSED');
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.code, 'ROUTING_VIOLATION');
      assert.equal(refused[0]!.leafIndex, at);
      const audit = r.checks.find((c) => c.check === 'no platform → bank hop in the log (4 hops checked)');
      assert.equal(audit?.ok, false);
      assert.equal(audit?.code, 'DIRECT_CONNECTION_FOUND');
      // The hop is authentic: the platform did sign it. Only the rules fail.
      assert.deepEqual(failed(r), [
        ['ROUTING_VIOLATION', 'DIRECT_CONNECTION_REFUSED'],
        ['DIRECT_CONNECTION_FOUND', undefined],
      ]);
    });

    it('fails when one leaf differs from the log the checkpoint commits to', () => {
      const bundle = clone(applicationBundle(flow, { complete: true }));
      const target = bundle.leaves[7]!;
      target.data = b64url(flip(fromB64url(target.data)!, 3));
      const r = verify(bundle);
      assert.equal(r.ok, false);
      assert.equal(r.codes[0], 'LOG_ROOT_MISMATCH');
    });

    it('fails when a leaf is missing or out of order', () => {
      const bundle = clone(applicationBundle(flow, { complete: true }));
      bundle.leaves.splice(2, 1);
      assert.equal(verify(bundle).codes[0], 'LOG_NOT_WHOLE');
      const swapped = clone(applicationBundle(flow, { complete: true }));
      [swapped.leaves[1], swapped.leaves[2]] = [swapped.leaves[2]!, swapped.leaves[1]!];
      assert.equal(verify(swapped).codes[0], 'LOG_NOT_WHOLE');
    });

    it('verifies a log of more than 200 leaves, reporting progress every 50', () => {
      const f = dataChannelFlow(world, { applicationId: 'app_big_1', unrelated: 250 });
      const calls: number[] = [];
      const r = verify(f.log.bundle(world, { complete: true }), { onProgress: (d) => calls.push(d) });
      assert.equal(r.ok, true, r.failures.join('\n'));
      assert.equal(r.summary.leaves, 261);
      assert.ok(calls.length >= 10, `only ${calls.length} progress calls`);
      assert.deepEqual(calls, [...calls].sort((a, b) => a - b));
      assert.equal(calls.at(-1), 3 * 261);
    });
  });

  describe('the routing rules', () => {
    it('refuses platform risk fields on the credit report: FIELD_NOT_ALLOWED_FOR_RECIPIENT', () => {
      const f = dataChannelFlow(world, { applicationId: 'app_risk_1', creditReportFields: { ...CREDIT_REPORT_FIELDS, 'risk.platformScore': 720 } });
      const r = verify(applicationBundle(f));
      assert.equal(r.ok, false);
      assert.deepEqual(failed(r), [['ROUTING_VIOLATION', 'FIELD_NOT_ALLOWED_FOR_RECIPIENT']]);
      assert.equal(r.checks.find((c) => !c.ok)?.leafIndex, f.own[6]);
    });

    it('refuses a channel whose licence had expired: CHANNEL_NOT_LICENSED on every hop', () => {
      const f = dataChannelFlow(world, {
        applicationId: 'app_licence_1',
        channelLicence: { number: 'DEV-PBOC-ZX-0001', issuer: 'PBOC (dev)', validFrom: '2020-01-01T00:00:00Z', validUntil: '2025-01-01T00:00:00Z', status: 'active' },
      });
      const r = verify(applicationBundle(f));
      assert.equal(r.ok, false);
      assert.deepEqual(failed(r), Array(3).fill(['ROUTING_VIOLATION', 'CHANNEL_NOT_LICENSED']));
    });

    it('refuses a bank the consent does not name: CONSENT_DOES_NOT_NAME_RECIPIENT', () => {
      const f = dataChannelFlow(world, { applicationId: 'app_consent_1', consent: { recipients: [CHANNEL] } });
      const r = verify(applicationBundle(f));
      assert.equal(r.ok, false);
      assert.deepEqual(failed(r), [['ROUTING_VIOLATION', 'CONSENT_DOES_NOT_NAME_RECIPIENT']]);
      assert.equal(r.checks.find((c) => !c.ok)?.leafIndex, f.own[6]);
    });

    it('fails a hop whose consent is not in the bundle', () => {
      const bundle = applicationBundle(flow);
      bundle.leaves = bundle.leaves.filter((l) => l.index !== flow.own[3]);
      const r = verify(bundle);
      assert.equal(r.ok, false);
      assert.deepEqual(r.codes, Array(3).fill('ROUTING_CONSENT_MISSING'));
    });
  });

  describe('signatures, receipts and the registry', () => {
    it('fails when a required witness did not cosign, and names the witness', () => {
      const r = verify(applicationBundle(flow, { cosign: false }));
      assert.equal(r.ok, false);
      assert.deepEqual(r.summary.witnessedBy, []);
      assert.deepEqual(r.codes, ['CHECKPOINT_NOT_WITNESSED']);
    });

    it('fails against the wrong router key, even one with the router key’s name', () => {
      const impostor = generateNoteKey(world.checkpointSigner.name).signer;
      const r = verify(good, { routerVkey: impostor.vkey });
      assert.equal(r.ok, false);
      assert.equal(r.codes[0], 'CHECKPOINT_NOT_SIGNED');
      const malformed = verify(good, { routerVkey: 'not-a-vkey' });
      assert.equal(malformed.ok, false);
      assert.equal(malformed.codes[0], 'TRUST_ROUTER_KEY_INVALID');
    });

    it('pins the log’s origin as well as its key: a checkpoint of another log under the same key fails', () => {
      const r = verify(good, { origin: 'dzl.example/another-log' });
      assert.equal(r.ok, false);
      assert.equal(r.codes[0], 'CHECKPOINT_ORIGIN_MISMATCH');
      // and, with no usable checkpoint, no leaf is proven
      assert.ok(r.codes.includes('LEAF_NOT_PROVEN'));
      assert.equal(verify(good, { origin: '' }).codes[0], 'TRUST_ORIGIN_INVALID');
    });

    it('fails when a checkpoint signature line is re-encoded with non-zero unused base64 bits', () => {
      // 68 signature bytes leave 2 unused bits in the last base64 character: the bytes stay the
      // same, the text changes. A tamper-evident log must not accept two texts for one note.
      const lines = good.checkpoint.split('\n');
      const i = lines.findIndex((l) => l.startsWith(`— ${world.checkpointSigner.name} `));
      const b64 = lines[i]!.split(' ')[2]!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      const last = b64.replace(/=+$/, '').at(-1)!;
      const mutated = b64.replace(/.(=*)$/, `${alphabet[alphabet.indexOf(last) ^ 1]}$1`);
      assert.ok(Buffer.from(mutated, 'base64').equals(Buffer.from(b64, 'base64')));
      lines[i] = `— ${world.checkpointSigner.name} ${mutated}`;
      const r = verify({ ...good, checkpoint: lines.join('\n') });
      assert.equal(r.ok, false);
      assert.equal(r.codes[0], 'CHECKPOINT_MALFORMED');
    });

    it('fails a receipt whose hop is not in the bundle', () => {
      const bundle = applicationBundle(flow);
      bundle.leaves = bundle.leaves.filter((l) => l.index !== flow.own[6]);
      const r = verify(bundle);
      assert.equal(r.ok, false);
      assert.deepEqual(r.codes, ['RECEIPT_ORPHAN']);
      assert.equal(r.checks.find((c) => !c.ok)?.leafIndex, flow.own[7]);
    });

    it('fails a hop whose signature was altered by whoever wrote the log (re-proven, re-signed checkpoint)', () => {
      // A router that rewrites its own log can sign a new checkpoint, but not a party's hop.
      const log = new TestLog();
      flow.log.leaves.forEach((l) => log.append(l));
      const at = flow.own[4]!;
      const leaf = { ...(log.leaves[at] as HopLeaf) };
      leaf.signature = b64url(flip(fromB64url(leaf.signature)!, 100));
      log.leaves[at] = leaf;
      const r = verify(log.bundle(world, { include: flow.own, scope: { kind: 'application', applicationId: flow.applicationId } }));
      assert.equal(r.ok, false);
      assert.deepEqual(failed(r), [['HOP_SIGNATURE_INVALID', 'HOP_SIGNATURE_INVALID']]);
      assert.equal(r.checks.find((c) => !c.ok)?.leafIndex, at);
      // The channel's receipt is still its own signature over the original header digest: no receipt check fails.
    });

    it('fails a receipt signed by someone other than the recipient', () => {
      const log = new TestLog();
      flow.log.leaves.forEach((l) => log.append(l));
      const at = flow.own[7]!;
      const forged = { ...(log.leaves[flow.own[5]!] as ReceiptLeaf) };
      // The channel's receipt for the application hop, presented as the bank's for the credit report.
      log.leaves[at] = { ...forged, hopId: flow.hops.creditReport.header.hopId };
      const r = verify(log.bundle(world, { include: flow.own, scope: { kind: 'application', applicationId: flow.applicationId } }));
      assert.equal(r.ok, false);
      assert.deepEqual(failed(r)[0], ['RECEIPT_INVALID', 'RECEIPT_INVALID']);
      assert.equal(r.checks.find((c) => !c.ok)?.leafIndex, at);
    });

    it('fails a party leaf naming a certificate the bundle lacks', () => {
      const bundle = applicationBundle(flow);
      const bankSig = world.network.parties.find((p) => p.id === BANK)!.certificates[0]!;
      bundle.certificates = bundle.certificates.filter((pem) => pem !== bankSig);
      const r = verify(bundle);
      assert.equal(r.ok, false);
      assert.equal(r.codes[0], 'PARTY_CERTIFICATE_MISSING');
      assert.equal(r.checks.find((c) => !c.ok)?.leafIndex, flow.own[2]);
      // Without the bank's signing certificate, its decision and receipt cannot verify either.
      assert.equal(withCause(r, 'HOP_SIGNER_UNKNOWN').length, 1);
    });

    it('uses the registry as of each hop: a key revoked before the hop was issued fails it', () => {
      const f = dataChannelFlow(world, { applicationId: 'app_revoked_1' });
      const log = new TestLog();
      const platformSig = partyLeaf(world, PLATFORM).party.certificates[0]!;
      const revoked = partyLeaf(world, PLATFORM, { revoked: { [platformSig]: new Date(Date.now() - 60_000).toISOString() } });
      // The revocation is recorded right before the application hop (index own[4]).
      f.log.leaves.forEach((l, i) => {
        if (i === f.own[4]) log.append(revoked);
        log.append(l);
      });
      const r = verify(log.bundle(world, { complete: true }));
      assert.equal(r.ok, false);
      // the application hop, and the platform's receipt for the decision, signed after the revocation too
      assert.deepEqual(failed(r), [
        ['HOP_SIGNATURE_INVALID', 'HOP_CERTIFICATE_INVALID'],
        ['RECEIPT_INVALID', 'RECEIPT_INVALID'],
      ]);
      // The same snapshot recorded after every hop and receipt does not reach back.
      const later = new TestLog();
      f.log.leaves.forEach((l) => later.append(l));
      later.append(revoked);
      const r2 = verify(later.bundle(world, { complete: true }));
      assert.deepEqual(r2.failures, []);
    });
  });

  describe('never throws', () => {
    it('turns any input into a failed report', () => {
      for (const bundle of [undefined, null, 42, 'bundle', [], {}, { format: 'dzl-evidence-bundle/v1' }, { ...good, leaves: 'x' }, { ...good, leaves: [null, 1, { index: -1 }] }, { ...good, certificates: [1] }, { ...good, checkpoint: 7 }]) {
        const r = verify(bundle);
        assert.equal(r.ok, false, JSON.stringify(bundle)?.slice(0, 80));
        assert.ok(r.failures.length > 0);
        assert.ok(r.codes.every((c) => c !== undefined && (CHECK_CODES as readonly string[]).includes(c)), `uncoded failure: ${r.failures.join('; ')}`);
      }
      assert.equal(verify(good, { caPem: 'not a pem' }).ok, false);
      assert.equal(verify(good, { requireWitnesses: ['bogus'] }).ok, false);
      const r = verifyBundle(undefined as unknown as Parameters<typeof verifyBundle>[0]);
      assert.equal(r.ok, false);
    });

    it('turns random structural damage into a failed report (seeded)', () => {
      const rand = seeded(7);
      const values: unknown[] = [null, 0, -1, 1.5, '', 'x', [], {}, true, 'AAAA', [1, 2]];
      const paths = (v: unknown, prefix: (string | number)[] = []): (string | number)[][] => {
        if (typeof v !== 'object' || v === null) return [prefix];
        const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
        return [prefix, ...keys.flatMap((k) => paths((v as Record<string | number, unknown>)[k], [...prefix, k]))];
      };
      const all = paths(good).filter((p) => p.length > 0);
      for (let n = 0; n < 150; n++) {
        const bundle = clone(good) as unknown as Record<string | number, unknown>;
        const path = all[Math.floor(rand() * all.length)]!;
        let parent = bundle;
        for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
        const last = path.at(-1)!;
        const value = values[Math.floor(rand() * values.length)];
        if (rand() < 0.3 && !Array.isArray(parent)) delete parent[last];
        else parent[last] = value;
        const r = verify(bundle);
        assert.equal(r.ok, false, `mutating ${path.join('.')} still verified`);
        assert.ok(r.failures.every((f) => f.length > 0));
        assert.ok(r.codes.length === r.failures.length && r.codes.every((c) => c !== undefined), `uncoded failure after mutating ${path.join('.')}`);
      }
    });
  });

  describe('tamper sweep: a single flipped byte anywhere fails the bundle', () => {
    const expectFailure = (bundle: EvidenceBundle, codes: CheckCode[], what: string, leafIndex?: number) => {
      const r = verify(bundle);
      assert.equal(r.ok, false, `${what}: still verifies`);
      assert.ok(r.failures.length > 0 && r.failures[0]!.length > 0, `${what}: no reason`);
      assert.ok(codes.includes(r.codes[0]!), `${what}: ${r.codes[0]} (${r.failures[0]})`);
      if (leafIndex !== undefined) assert.equal(r.checks.find((c) => !c.ok)?.leafIndex, leafIndex, what);
    };

    it('(i) in any leaf’s data', () => {
      const rand = seeded(1);
      let n = 0;
      good.leaves.forEach((leaf, k) => {
        const data = fromB64url(leaf.data)!;
        for (const i of positions(data.length, rand)) {
          const bundle = clone(good);
          bundle.leaves[k]!.data = b64url(flip(data, i));
          expectFailure(bundle, ['LEAF_PROOF_MISMATCH'], `leaf ${leaf.index} byte ${i}`, leaf.index);
          n++;
        }
      });
      assert.ok(n >= 11 * 40);
    });

    it('(ii) in any proof hash', () => {
      let n = 0;
      good.leaves.forEach((leaf, k) => {
        assert.ok(leaf.proof!.length > 0);
        leaf.proof!.forEach((hash, h) => {
          const bytes = fromB64url(hash)!;
          for (const i of positions(bytes.length, () => 0)) {
            const bundle = clone(good);
            bundle.leaves[k]!.proof![h] = b64url(flip(bytes, i));
            expectFailure(bundle, ['LEAF_PROOF_MISMATCH'], `leaf ${leaf.index} proof ${h} byte ${i}`, leaf.index);
            n++;
          }
        });
      });
      assert.ok(n > 11 * 32);
    });

    it('(iii) in the signature inside a hop leaf and inside a receipt leaf', () => {
      const rand = seeded(3);
      for (const at of [flow.own[4]!, flow.own[5]!]) {
        const k = good.leaves.findIndex((l) => l.index === at);
        const leaf = JSON.parse(fromB64url(good.leaves[k]!.data)!.toString('utf8')) as HopLeaf | ReceiptLeaf;
        const sig = fromB64url(leaf.signature)!;
        assert.equal(sig.length, 256);
        for (const i of positions(sig.length, rand)) {
          const changed = { ...leaf, signature: b64url(flip(sig, i)) };
          const { signature: _a, ...restChanged } = changed;
          const { signature: _b, ...rest } = leaf;
          assert.deepEqual(restChanged, rest);
          const bundle = clone(good);
          bundle.leaves[k]!.data = b64url(canonicalJson(changed));
          expectFailure(bundle, ['LEAF_PROOF_MISMATCH'], `${leaf.type} signature byte ${i}`, at);
        }
      }
    });

    it('(iv) in the checkpoint text', () => {
      const text = Buffer.from(good.checkpoint, 'utf8');
      assert.ok(text.length > 200);
      for (let i = 0; i < text.length; i++) {
        const bundle = clone(good);
        bundle.checkpoint = flip(text, i).toString('utf8');
        expectFailure(
          bundle,
          ['CHECKPOINT_MALFORMED', 'CHECKPOINT_NOT_SIGNED', 'CHECKPOINT_SIGNATURE_INVALID', 'CHECKPOINT_NOT_WITNESSED', 'CHECKPOINT_COSIGNATURE_INVALID', 'CHECKPOINT_ORIGIN_MISMATCH'],
          `checkpoint byte ${i} (${JSON.stringify(String.fromCharCode(text[i]!))})`,
        );
      }
    });

    it('(v) in a certificate PEM’s base64 body', () => {
      const rand = seeded(5);
      good.certificates.forEach((pem, c) => {
        const bytes = Buffer.from(pem, 'utf8');
        const bodyStart = pem.indexOf('\n') + 1;
        const bodyEnd = pem.indexOf('-----END');
        const body = [...Array(bodyEnd - bodyStart).keys()].map((i) => i + bodyStart).filter((i) => pem[i] !== '\n' && pem[i] !== '\r');
        for (const p of positions(body.length, rand)) {
          const i = body[p]!;
          const bundle = clone(good);
          bundle.certificates[c] = flip(bytes, i).toString('utf8');
          expectFailure(bundle, ['CERTIFICATE_INVALID'], `certificate ${c} byte ${i}`);
        }
      });
    });
  });

  describe('dzl verify', () => {
    let dir: string;
    let caFile: string;
    before(() => {
      dir = tempDir('verify-cli');
      caFile = join(dir, 'ca.crt');
      writeFileSync(caFile, world.caPem);
    });

    async function run(args: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
      const program = new Command('dzl').exitOverride();
      registerVerifyCommand(program);
      const saved = { exitCode: process.exitCode, out: process.stdout.write, err: process.stderr.write };
      let out = '';
      let err = '';
      process.exitCode = undefined;
      process.stdout.write = ((chunk: string | Uint8Array) => ((out += String(chunk)), true)) as typeof process.stdout.write;
      process.stderr.write = ((chunk: string | Uint8Array) => ((err += String(chunk)), true)) as typeof process.stderr.write;
      try {
        await program.parseAsync(['node', 'dzl', 'verify', ...args]);
        return { code: process.exitCode === undefined ? undefined : Number(process.exitCode), out, err };
      } finally {
        process.stdout.write = saved.out;
        process.stderr.write = saved.err;
        process.exitCode = saved.exitCode;
      }
    }

    const write = (name: string, bundle: unknown) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(bundle));
      return file;
    };

    it('passes an honest bundle with exit code 0', async () => {
      const r = await run([write('good.json', good), '--ca', caFile, '--router-key', world.routerVkey, '--origin', world.origin, '--witness-key', world.witnessVkey]);
      assert.equal(r.code, 0);
      assert.match(r.out, /^PASS  .*good\.json: all \d+ checks pass/);
      assert.match(r.out, new RegExp(`witnessed by.*${world.witnessSigner.name.replace(/[/.]/g, '\\$&')}`));
    });

    it('prints the reason and exits 1 when a bundle fails', async () => {
      const f = dataChannelFlow(world, { applicationId: 'app_cli_1', consent: { recipients: [CHANNEL] } });
      const r = await run([write('bad.json', applicationBundle(f)), '--ca', caFile, '--router-key', world.routerVkey, '--origin', world.origin]);
      assert.equal(r.code, 1);
      assert.match(r.out, /^FAIL  .*bad\.json: 1 of \d+ checks failed/);
      assert.ok(r.out.includes(`✗ ROUTING_VIOLATION hop ${f.hops.creditReport.header.hopId}: CONSENT_DOES_NOT_NAME_RECIPIENT`), r.out);
    });

    it('requires the witnesses named with --require-witness', async () => {
      const r = await run([write('unwitnessed.json', applicationBundle(flow, { cosign: false })), '--ca', caFile, '--router-key', world.routerVkey, '--origin', world.origin, '--require-witness', world.witnessVkey]);
      assert.equal(r.code, 1);
      assert.ok(r.out.includes('✗ CHECKPOINT_NOT_WITNESSED'), r.out);
    });

    it('prints the report as JSON with --json, taking the trust roots from --network', async () => {
      const r = await run([write('good2.json', good), '--network', world.dir, '--json']);
      assert.equal(r.code, 0);
      const report = JSON.parse(r.out) as VerifyReport;
      assert.equal(report.ok, true);
      assert.equal(report.summary.hops, 3);
      assert.deepEqual(report.codes, []);
    });

    it('pins the origin: --origin of another log fails, and --json prints the codes', async () => {
      const r = await run([write('good4.json', good), '--network', world.dir, '--origin', 'dzl.example/another-log', '--json']);
      assert.equal(r.code, 1);
      const report = JSON.parse(r.out) as VerifyReport;
      assert.equal(report.codes[0], 'CHECKPOINT_ORIGIN_MISMATCH');
      assert.ok(report.checks.filter((c) => !c.ok).every((c) => typeof c.code === 'string'));
    });

    it('exits 2 when the bundle cannot be read or parsed', async () => {
      const missing = await run([join(dir, 'nope.json'), '--ca', caFile, '--router-key', world.routerVkey, '--origin', world.origin]);
      assert.equal(missing.code, 2);
      assert.match(missing.err, /cannot read bundle .*nope\.json: ENOENT/);
      const notJson = join(dir, 'garbage.json');
      writeFileSync(notJson, '{"format": ');
      const garbage = await run([notJson, '--ca', caFile, '--router-key', world.routerVkey, '--origin', world.origin]);
      assert.equal(garbage.code, 2);
      assert.match(garbage.err, /is not JSON/);
      mkdirSync(join(dir, 'empty-network'), { recursive: true });
      const noKey = await run([write('good3.json', good), '--network', join(dir, 'empty-network'), '--ca', caFile]);
      assert.equal(noKey.code, 2);
      assert.match(noKey.err, /no --router-key given/);
    });
  });
});

