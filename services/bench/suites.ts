/**
 * 3b. One hop's seal + open in each pair of cipher suites, side by side in the same run —
 * RSA → RSA, SM → SM and the two mixed pairs — and where the time goes: each cryptographic step of
 * that hop timed alone on the same bytes (sign, verify, wrap, unwrap, the AEAD both ways, the
 * digests). The rest of seal + open is JSON, JCS, base64url and the structural checks.
 *
 * The RSA parties are the dev network's. Until `dzl network init` makes SM parties, the SM ones
 * are made here: an SM2 network CA and SM2 sig and enc certificates issued from CSRs, in one
 * directory with the RSA parties over both roots.
 *
 *   node dist/services/bench/suites.js [--iterations N]     (a throwaway dev network in a temp dir)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { classOf } from '../fields/catalogue';
import { createDevNetwork, loadPartyIdentity, readNetworkFile } from '../network/folder';
import { SAMPLE_CUSTOMERS } from '../parties/samples';
import { createCsr, generateKeyPair, issueFromCsr } from '../pki/ca';
import { certificateFingerprint, parseCertificate } from '../pki/certificate';
import { privateKeyFromPem } from '../pki/identity';
import { createSm2NetworkCa } from '../pki/sm2';
import { NetworkDirectory, type PartyRecord } from '../registry/directory';
import { DEV } from '../runtime/localNetwork';
import { b64url, lengthPrefixed } from '../seal/bytes';
import { canonicalJson } from '../seal/canonical';
import { decodeHop, manifestOf, newSalt, openHop, sealHop, verifyHop, type RecipientIdentity, type SealRequest, type SigningIdentity } from '../seal/hop';
import { nowMs, summarise, type Summary } from './stats';

interface Party {
  partyId: string;
  signing: SigningIdentity;
  recipient: RecipientIdentity;
}

/** Median milliseconds of each step of one hop, each timed alone. */
export interface SuiteSteps {
  sign: number;
  verify: number;
  wrap: number;
  unwrap: number;
  aeadSeal: number;
  aeadOpen: number;
  /** The manifest's field MACs, the ciphertext digest and the header digest, on both sides. */
  digests: number;
}

export interface SuitePairTiming {
  /** `<sender suite> → <recipient suite>`. */
  pair: string;
  alg: Record<string, string>;
  iterations: number;
  sealMs: Summary;
  openMs: Summary;
  /** Median ms of one seal plus median ms of one verify + open. */
  sealOpenMs: number;
  steps: SuiteSteps;
  /** Sizes on the wire, bytes after base64url decoding. */
  bytes: { signature: number; wrappedKey: number; ciphertext: number };
}

export interface SuiteBench {
  pairs: SuitePairTiming[];
  /** Median ms to parse a party certificate and check the network CA's signature on it, per suite. */
  certificateParseMs: Record<'RSA' | 'SM', number>;
  /** Every pair opened what it sealed, to the same fields. */
  roundTrips: boolean;
}

/**
 * Runs every task once per round, round after round, and gives each task's samples: the tasks
 * share whatever the machine is doing, so a busy moment slows all of them, not one pair.
 */
function interleaved(rounds: number, tasks: Record<string, () => unknown>): Record<string, number[]> {
  const names = Object.keys(tasks);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < Math.min(10, rounds); i++) for (const n of names) tasks[n]!();
  for (let i = 0; i < rounds; i++) {
    for (const n of names) {
      const t0 = nowMs();
      tasks[n]!();
      samples[n]!.push(nowMs() - t0);
    }
  }
  return samples;
}

function smParties(networkDir: string): { directory: NetworkDirectory; platform: Party; channel: Party; smCertificate: string; rsaCertificate: string; caPem: string } {
  const file = readNetworkFile(networkDir);
  const now = Date.now();
  const validity = { validFrom: new Date(now - 3600_000), validUntil: new Date(now + 30 * 24 * 3600_000) };
  const smCa = createSm2NetworkCa(file.network, validity.validFrom, validity.validUntil);
  const caPem = file.caPem + smCa.certPem;
  const records: PartyRecord[] = [...file.parties];
  const made: Party[] = [];
  for (const [partyId, role] of [['platform-guomi', 'platform'], ['channel-guomi', 'channel']] as const) {
    const pems: Record<'sig' | 'enc', { cert: string; key: string }> = { sig: { cert: '', key: '' }, enc: { cert: '', key: '' } };
    for (const usage of ['sig', 'enc'] as const) {
      const pair = generateKeyPair('SM');
      pems[usage] = { cert: issueFromCsr(smCa, createCsr({ partyId, role, legalName: `${partyId} (bench)` }, pair), usage, validity), key: pair.privateKeyPem };
    }
    records.push({ id: partyId, role, legalName: `${partyId} (bench)`, certificates: [pems.sig.cert, pems.enc.cert] });
    made.push({
      partyId,
      signing: { partyId, keyId: certificateFingerprint(pems.sig.cert), privateKey: privateKeyFromPem(pems.sig.key) },
      recipient: { partyId, decryptionKeys: new Map([[certificateFingerprint(pems.enc.cert), privateKeyFromPem(pems.enc.key)]]) },
    });
  }
  const rsaCertificate = file.parties.find((p) => p.id === DEV.channel)!.certificates[0]!;
  return { directory: new NetworkDirectory(caPem, records), platform: made[0]!, channel: made[1]!, smCertificate: records.at(-1)!.certificates[0]!, rsaCertificate, caPem };
}

interface PreparedPair {
  pair: string;
  alg: Record<string, string>;
  bytes: SuitePairTiming['bytes'];
  roundTrip: boolean;
  seal: () => unknown;
  open: () => unknown;
  steps: Record<keyof SuiteSteps, () => unknown>;
}

function preparePair(directory: NetworkDirectory, from: Party, to: Party): PreparedPair {
  const fields = SAMPLE_CUSTOMERS[0]!.fields;
  const req: SealRequest = {
    applicationId: 'app_bench-suites',
    kind: 'application',
    model: 'data_channel',
    to: directory.encryptionCertificate(to.partyId),
    platform: from.partyId,
    channel: to.partyId,
    consentRef: 'consent_bench',
    fields,
    salt: newSalt(),
    classOf,
  };
  const signerOf = directory.signerOf;
  const sealed = sealHop(from.signing, req).sealed;
  const open = () => openHop(verifyHop(sealed, { signerOf }), to.recipient);
  const hop = decodeHop(sealed);
  const { sender, recipient } = hop;
  const signerKey = signerOf(hop.header.senderKeyId)!.publicKey;
  const recipientKey = to.recipient.decryptionKeys.get(hop.header.recipientKeyId)!;
  const contentKey = recipient.unwrapKey(recipientKey, hop.wrappedKey)!;
  const { ciphertextDigest: _d, ...aadHeader } = hop.header;
  const aad = canonicalJson(aadHeader);
  const body = canonicalJson({ salt: b64url(req.salt), fields });
  return {
    pair: `${sender.name} → ${recipient.name}`,
    alg: { ...hop.header.alg },
    bytes: { signature: hop.signature.length, wrappedKey: hop.wrappedKey.length, ciphertext: hop.ciphertext.length },
    roundTrip: canonicalJson(open().fields).equals(canonicalJson(fields)),
    seal: () => sealHop(from.signing, req),
    open,
    // each step alone, on the bytes of one hop of this pair
    steps: {
      sign: () => sender.sign(from.signing.privateKey, hop.headerBytes),
      verify: () => sender.verify(signerKey, hop.headerBytes, hop.signature),
      wrap: () => recipient.wrapKey(req.to.publicKey, contentKey),
      unwrap: () => recipient.unwrapKey(recipientKey, hop.wrappedKey),
      aeadSeal: () => recipient.sealBody(contentKey, hop.iv, aad, body),
      aeadOpen: () => recipient.openBody(contentKey, hop.iv, aad, hop.ciphertext),
      // sealing computes every field MAC, the ciphertext digest and the header digest; opening, the same again
      digests: () => {
        for (let side = 0; side < 2; side++) {
          manifestOf(fields, req.salt, classOf, sender);
          sender.hash(lengthPrefixed(hop.wrappedKey, hop.iv, hop.ciphertext));
          sender.hash(hop.headerBytes);
        }
      },
    },
  };
}

const STEPS: (keyof SuiteSteps)[] = ['sign', 'verify', 'wrap', 'unwrap', 'aeadSeal', 'aeadOpen', 'digests'];

export function runSuiteSealOpen(networkDir: string, opts: { iterations: number }): SuiteBench {
  const rsa = { platform: loadPartyIdentity(networkDir, DEV.platform), channel: loadPartyIdentity(networkDir, DEV.channel) };
  const sm = smParties(networkDir);
  const prepared = (
    [
      [rsa.platform, rsa.channel],
      [sm.platform, sm.channel],
      [rsa.platform, sm.channel],
      [sm.platform, rsa.channel],
    ] as [Party, Party][]
  ).map(([from, to]) => preparePair(sm.directory, from, to));
  const tasks: Record<string, () => unknown> = {};
  prepared.forEach((p, i) => {
    tasks[`${i} seal`] = p.seal;
    tasks[`${i} open`] = p.open;
    for (const step of STEPS) tasks[`${i} ${step}`] = p.steps[step];
  });
  tasks['parse RSA'] = () => parseCertificate(sm.rsaCertificate, sm.caPem);
  tasks['parse SM'] = () => parseCertificate(sm.smCertificate, sm.caPem);
  const samples = interleaved(opts.iterations, tasks);
  const median = (name: string) => summarise(samples[name]!).p50;
  return {
    pairs: prepared.map((p, i) => {
      const s = summarise(samples[`${i} seal`]!);
      const o = summarise(samples[`${i} open`]!);
      return {
        pair: p.pair,
        alg: p.alg,
        iterations: opts.iterations,
        sealMs: s,
        openMs: o,
        sealOpenMs: s.p50 + o.p50,
        steps: Object.fromEntries(STEPS.map((step) => [step, median(`${i} ${step}`)])) as unknown as SuiteSteps,
        bytes: p.bytes,
      };
    }),
    certificateParseMs: { RSA: median('parse RSA'), SM: median('parse SM') },
    roundTrips: prepared.every((p) => p.roundTrip),
  };
}

const f = (v: number) => (v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The table of 3b, as lines. */
export function suiteReportLines(r: SuiteBench): string[] {
  const cols = r.pairs.map((p) => p.pair.padStart(12));
  const row = (label: string, pick: (p: SuitePairTiming) => string) => `  ${label.padEnd(28)}${r.pairs.map((p) => pick(p).padStart(12)).join('')}`;
  return [
    `  ${''.padEnd(28)}${cols.join('')}`,
    row('seal, p50 (ms)', (p) => f(p.sealMs.p50)),
    row('verify + open, p50 (ms)', (p) => f(p.openMs.p50)),
    row('seal + open (ms)', (p) => f(p.sealOpenMs)),
    row('  sign', (p) => f(p.steps.sign)),
    row('  verify', (p) => f(p.steps.verify)),
    row('  wrap', (p) => f(p.steps.wrap)),
    row('  unwrap', (p) => f(p.steps.unwrap)),
    row('  AEAD seal + open', (p) => f(p.steps.aeadSeal + p.steps.aeadOpen)),
    row('  digests (both sides)', (p) => f(p.steps.digests)),
    row('  the rest (JSON, JCS, b64u)', (p) => f(p.sealOpenMs - Object.values(p.steps).reduce((a, b) => a + b, 0))),
    row('signature / wrappedKey (B)', (p) => `${p.bytes.signature} / ${p.bytes.wrappedKey}`),
    `  parse + CA check of one certificate: RSA ${f(r.certificateParseMs.RSA)} ms, SM ${f(r.certificateParseMs.SM)} ms · every pair opened what it sealed: ${r.roundTrips ? 'yes' : 'NO'}`,
  ];
}

if (require.main === module) {
  const { values } = parseArgs({ options: { iterations: { type: 'string', default: '100' } } });
  const iterations = Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('--iterations must be an integer ≥ 1');
  const dir = mkdtempSync(join(tmpdir(), 'dzl-bench-suites-'));
  try {
    createDevNetwork(join(dir, 'network'));
    const r = runSuiteSealOpen(join(dir, 'network'), { iterations });
    process.stdout.write(`one hop's seal + open per pair of suites (platform → channel, a sample application's fields), ${iterations} iterations\n`);
    for (const line of suiteReportLines(r)) process.stdout.write(line + '\n');
    if (!r.roundTrips) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
