#!/usr/bin/env node
/*
 * A second implementation of the SM suite of contracts/envelope.md §22, written from that text,
 * in which the system `openssl` binary does every cryptographic operation:
 *
 *   SM2 signatures     openssl pkeyutl -sign / -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678
 *   SM2 key wrap       openssl pkeyutl -encrypt -certin / -decrypt         (DER C1C3C2, GB/T 35276)
 *   SM3, HMAC-SM3      openssl dgst -sm3, openssl mac -digest SM3 HMAC
 *   SM4-GCM            openssl enc -sm4-ctr for the data and -sm4-ecb for H = E(K, 0¹²⁸) and E(K, J0);
 *                      openssl 3.0 has no SM4-GCM cipher (and `enc` takes no AEAD cipher at all), so
 *                      this file computes GCM's GHASH (a GF(2^128) multiplication, SP 800-38D §6.4)
 *                      over openssl's blocks
 *   key ids            openssl x509 -outform DER | openssl dgst -sha256
 *   randomness         openssl rand
 *
 * The rest is moving bytes: JSON, base64url, RFC 8785 for the header and body (sorted keys,
 * JSON.stringify strings and numbers: exact for the values a hop carries). It imports nothing
 * from dzl and does not use node:crypto.
 *
 *   node test/interop/openssl-sm-hop.js open --hop hop.json --key enc.key --sender-cert sig.crt
 *       checks a sealed hop (alg, signature, ciphertext digest, key wrap, GCM tag, canonical body,
 *       manifest digests) and prints {"fields","salt","headerDigest"}
 *   node test/interop/openssl-sm-hop.js seal --request req.json --key sig.key --sender-cert sig.crt --recipient-cert enc.crt
 *       req.json = {"header": {the members §10 step 2 lists, but nonce, key ids, alg, manifest},
 *                   "fields": {name: value}, "classes": {name: "C1"|"C2"}, "salt": b64u(32 bytes)}
 *       prints the sealed hop {"header","signature","wrappedKey","iv","ciphertext"}
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const DISTID = 'distid:1234567812345678';
const SM_ALG = { digest: 'HMAC-SM3', enc: 'SM4-GCM', sig: 'SM2-SM3', wrap: 'SM2-ENC' };

const work = mkdtempSync(join(tmpdir(), 'openssl-sm-hop-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
let fileNo = 0;
function file(bytes) {
  const path = join(work, `f${fileNo++}`);
  writeFileSync(path, bytes);
  return path;
}

function openssl(args, input) {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
}

function fail(why) {
  process.stderr.write(`openssl-sm-hop: ${why}\n`);
  process.exit(1);
}

// --- bytes ----------------------------------------------------------------------------------

const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
function fromB64u(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) fail('not base64url');
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) fail('not canonical base64url');
  return bytes;
}
function u32be(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
const lengthPrefixed = (...parts) => Buffer.concat(parts.flatMap((p) => [u32be(p.length), p]));

/** RFC 8785 for JSON values of strings, safe integers, booleans, null, arrays and objects. */
function jcs(value) {
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${jcs(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
const jcsBytes = (value) => Buffer.from(jcs(value), 'utf8');

// --- the SM algorithms, by openssl ----------------------------------------------------------

const sm3 = (bytes) => openssl(['dgst', '-sm3', '-binary'], bytes);
const hmacSm3 = (key, bytes) => openssl(['mac', '-binary', '-digest', 'SM3', '-macopt', `hexkey:${key.toString('hex')}`, '-in', file(bytes), 'HMAC']);
const random = (n) => openssl(['rand', String(n)]);
const keyIdOf = (certPath) => b64u(openssl(['dgst', '-sha256', '-binary'], openssl(['x509', '-in', certPath, '-outform', 'DER'])));

function sm2Sign(keyPath, message) {
  return openssl(['pkeyutl', '-sign', '-inkey', keyPath, '-rawin', '-digest', 'sm3', '-pkeyopt', DISTID, '-in', file(message)]);
}
function sm2Verify(certPath, message, signature) {
  try {
    openssl(['pkeyutl', '-verify', '-certin', '-inkey', certPath, '-rawin', '-digest', 'sm3', '-pkeyopt', DISTID, '-in', file(message), '-sigfile', file(signature)]);
    return true;
  } catch {
    return false;
  }
}
const sm2Encrypt = (certPath, plaintext) => openssl(['pkeyutl', '-encrypt', '-certin', '-inkey', certPath, '-in', file(plaintext)]);
function sm2Decrypt(keyPath, ciphertext) {
  try {
    return openssl(['pkeyutl', '-decrypt', '-inkey', keyPath, '-in', file(ciphertext)]);
  } catch {
    return undefined;
  }
}

const sm4Block = (key, block) => openssl(['enc', '-sm4-ecb', '-K', key.toString('hex'), '-nopad'], block);
// CTR over the whole 128-bit counter: GCM's inc32 is the same for fewer than 2^32 − 2 blocks
const sm4Ctr = (key, counter, data) => (data.length === 0 ? Buffer.alloc(0) : openssl(['enc', '-sm4-ctr', '-K', key.toString('hex'), '-iv', counter.toString('hex')], data));

const R = 0xe1n << 120n;
function gfMultiply(x, y) {
  let z = 0n;
  let v = y;
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}
const toBig = (block) => BigInt('0x' + (block.toString('hex') || '0'));
function ghash(h, aad, ciphertext) {
  const padded = (b) => Buffer.concat([b, Buffer.alloc((16 - (b.length % 16)) % 16)]);
  const lengths = Buffer.alloc(16);
  lengths.writeBigUInt64BE(BigInt(aad.length) * 8n, 0);
  lengths.writeBigUInt64BE(BigInt(ciphertext.length) * 8n, 8);
  const data = Buffer.concat([padded(aad), padded(ciphertext), lengths]);
  const hBig = toBig(h);
  let y = 0n;
  for (let i = 0; i < data.length; i += 16) y = gfMultiply(y ^ toBig(data.subarray(i, i + 16)), hBig);
  return Buffer.from(y.toString(16).padStart(32, '0'), 'hex');
}
function gcmParts(key, iv) {
  if (key.length !== 16 || iv.length !== 12) fail('SM4-GCM takes a 16-byte key and a 12-byte IV');
  const h = sm4Block(key, Buffer.alloc(16));
  const j0 = Buffer.concat([iv, u32be(1)]);
  const first = Buffer.concat([iv, u32be(2)]);
  return { h, tagMask: sm4Block(key, j0), first };
}
function sm4GcmSeal(key, iv, aad, plaintext) {
  const { h, tagMask, first } = gcmParts(key, iv);
  const ciphertext = sm4Ctr(key, first, plaintext);
  const tag = Buffer.from(ghash(h, aad, ciphertext).map((b, i) => b ^ tagMask[i]));
  return Buffer.concat([ciphertext, tag]);
}
function sm4GcmOpen(key, iv, aad, sealed) {
  const { h, tagMask, first } = gcmParts(key, iv);
  const ciphertext = sealed.subarray(0, sealed.length - 16);
  const tag = Buffer.from(ghash(h, aad, ciphertext).map((b, i) => b ^ tagMask[i]));
  if (!tag.equals(sealed.subarray(sealed.length - 16))) return undefined;
  return sm4Ctr(key, first, ciphertext);
}

// --- the hop --------------------------------------------------------------------------------

const fieldDigest = (salt, field, value) => b64u(hmacSm3(salt, Buffer.concat([Buffer.from(field, 'utf8'), Buffer.from([0]), jcsBytes(value)])));
const withoutDigest = (header) => Object.fromEntries(Object.entries(header).filter(([k]) => k !== 'ciphertextDigest'));

function open({ hop, key, 'sender-cert': senderCert }) {
  const sealed = JSON.parse(readFileSync(hop, 'utf8'));
  const [headerBytes, signature, wrappedKey, iv, ciphertext] = ['header', 'signature', 'wrappedKey', 'iv', 'ciphertext'].map((k) => fromB64u(sealed[k]));
  const header = JSON.parse(headerBytes.toString('utf8'));
  if (!jcsBytes(header).equals(headerBytes)) fail('header bytes are not canonical JSON');
  if (jcs(header.alg) !== jcs(SM_ALG)) fail(`alg is ${jcs(header.alg)}, not the SM suite's`);
  if (header.senderKeyId !== keyIdOf(senderCert)) fail('senderKeyId is not the key id of the sender certificate given');
  if (!sm2Verify(senderCert, headerBytes, signature)) fail('the SM2 signature of the header does not verify');
  if (b64u(sm3(lengthPrefixed(wrappedKey, iv, ciphertext))) !== header.ciphertextDigest) fail('ciphertextDigest does not match');
  const contentKey = sm2Decrypt(key, wrappedKey);
  if (!contentKey) fail('the content key was not wrapped for this key');
  const body = sm4GcmOpen(contentKey, iv, jcsBytes(withoutDigest(header)), ciphertext);
  if (!body) fail('SM4-GCM tag does not authenticate');
  const parsed = JSON.parse(body.toString('utf8'));
  if (!jcsBytes(parsed).equals(body)) fail('body is not canonical JSON');
  const salt = fromB64u(parsed.salt);
  const names = Object.keys(parsed.fields).sort();
  if (jcs(names) !== jcs(header.manifest.map((m) => m.field).sort())) fail('fields and manifest differ');
  for (const m of header.manifest) if (fieldDigest(salt, m.field, parsed.fields[m.field]) !== m.digest) fail(`digest of ${m.field} does not match`);
  process.stdout.write(JSON.stringify({ fields: parsed.fields, salt: parsed.salt, headerDigest: b64u(sm3(headerBytes)) }) + '\n');
}

function seal({ request, key, 'sender-cert': senderCert, 'recipient-cert': recipientCert }) {
  const req = JSON.parse(readFileSync(request, 'utf8'));
  const salt = fromB64u(req.salt);
  const manifest = Object.keys(req.fields).sort().map((field) => ({ field, class: req.classes[field], digest: fieldDigest(salt, field, req.fields[field]) }));
  const unsigned = {
    ...req.header,
    nonce: b64u(random(16)),
    senderKeyId: keyIdOf(senderCert),
    recipientKeyId: keyIdOf(recipientCert),
    alg: SM_ALG,
    manifest,
  };
  const contentKey = random(16);
  const iv = random(12);
  const ciphertext = sm4GcmSeal(contentKey, iv, jcsBytes(unsigned), jcsBytes({ salt: req.salt, fields: req.fields }));
  const wrappedKey = sm2Encrypt(recipientCert, contentKey);
  const headerBytes = jcsBytes({ ...unsigned, ciphertextDigest: b64u(sm3(lengthPrefixed(wrappedKey, iv, ciphertext))) });
  const signature = sm2Sign(key, headerBytes);
  const hop = { header: b64u(headerBytes), signature: b64u(signature), wrappedKey: b64u(wrappedKey), iv: b64u(iv), ciphertext: b64u(ciphertext) };
  process.stdout.write(JSON.stringify(hop) + '\n');
}

function options(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) fail(`expected --name value, got ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'open') open(options(rest));
else if (command === 'seal') seal(options(rest));
else fail('usage: openssl-sm-hop.js open --hop F --key F --sender-cert F | seal --request F --key F --sender-cert F --recipient-cert F');
