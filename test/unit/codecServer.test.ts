import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from '../../services/temporal/codec';
import { CodecAudit, issueOperatorToken, startCodecServer, verifyOperatorToken, OPERATOR_TOKEN_MAX_LIFETIME_MS } from '../../services/temporal/codecServer';
import { b64url } from '../../services/seal/bytes';

const UI = 'http://127.0.0.1:17280';

describe('codec server for the Web UI', () => {
  const alice = generateKeyPairSync('ed25519');
  const mallory = generateKeyPairSync('ed25519');
  const operators = new Map<string, KeyObject>([['ops-alice', alice.publicKey]]);
  const codec = new AesGcmPayloadCodec({ keyId: 'k1', key: randomBytes(32) });
  let dir: string;
  let audit: CodecAudit;
  let server: Awaited<ReturnType<typeof startCodecServer>>;
  let sealed: { metadata: Record<string, string>; data: string };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dzl-codec-'));
    audit = new CodecAudit(join(dir, 'audit.jsonl'));
    server = await startCodecServer({ codec, operators: () => operators, allowedOrigins: [UI], namespaces: ['default'], audit });
    const [enc] = await codec.encode([defaultPayloadConverter.toPayload({ applicationId: 'app_42', intakeHopId: 'hop_7' })]);
    sealed = { metadata: Object.fromEntries(Object.entries(enc!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])), data: Buffer.from(enc!.data!).toString('base64') };
  });
  after(() => server.close());

  const decode = (headers: Record<string, string>, body: unknown = { payloads: [sealed] }) =>
    fetch(`${server.url}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers }, body: JSON.stringify(body) });
  const auditLines = () => readFileSync(audit.file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

  it('decodes for an operator with a token signed by their key, and records who decoded which application', async () => {
    const res = await decode({ authorization: `Bearer ${issueOperatorToken('ops-alice', alice.privateKey)}`, origin: UI });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), UI);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString(), 'json/plain');
    assert.deepEqual(JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString()), { applicationId: 'app_42', intakeHopId: 'hop_7' });
    const last = auditLines().pop()!;
    assert.equal(last.event, 'decoded');
    assert.equal(last.operator, 'ops-alice');
    assert.deepEqual(last.applicationIds, ['app_42']);
    assert.deepEqual(last.hopIds, ['hop_7']);
  });

  it('accepts the session cookie /login sets, and redirects only back to the UI', async () => {
    const token = issueOperatorToken('ops-alice', alice.privateKey);
    const login = await fetch(`${server.url}/login?token=${token}&next=${encodeURIComponent(`${UI}/namespaces/default/workflows`)}`, { redirect: 'manual' });
    assert.equal(login.status, 302);
    assert.equal(login.headers.get('location'), `${UI}/namespaces/default/workflows`);
    const setCookie = login.headers.get('set-cookie')!;
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.equal((await decode({ cookie: setCookie.split(';')[0]!, origin: UI })).status, 200);
    const elsewhere = await fetch(`${server.url}/login?token=${token}&next=${encodeURIComponent('https://evil.example/')}`, { redirect: 'manual' });
    assert.equal(elsewhere.status, 200, 'no open redirect');
  });

  it('refuses, and records, whoever has not signed in: the UI then shows the ciphertext', async () => {
    for (const [headers, code] of [
      [{}, 'OPERATOR_UNAUTHENTICATED'],
      [{ authorization: `Bearer ${issueOperatorToken('ops-alice', mallory.privateKey)}` }, 'OPERATOR_TOKEN_INVALID'],
      [{ authorization: `Bearer ${issueOperatorToken('ops-mallory', mallory.privateKey)}` }, 'OPERATOR_UNKNOWN'],
      [{ authorization: `Bearer ${issueOperatorToken('ops-alice', alice.privateKey, 60_000, Date.now() - 120_000)}` }, 'OPERATOR_TOKEN_EXPIRED'],
      [{ authorization: 'Bearer not-a-token' }, 'OPERATOR_TOKEN_INVALID'],
    ] as const) {
      const res = await decode({ ...headers, origin: UI });
      assert.ok(res.status === 401 || res.status === 403, `${code}: ${res.status}`);
      const body = (await res.json()) as { error: { code: string }; payloads?: unknown };
      assert.equal(body.error.code, code);
      assert.equal(body.payloads, undefined);
      const last = auditLines().pop()!;
      assert.equal(last.event, 'refused');
      assert.equal(last.code, code);
    }
  });

  it('answers the preflight for the UI’s origin only, offers no /encode, and decodes for its namespaces only', async () => {
    const pre = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), UI);
    assert.match(pre.headers.get('access-control-allow-headers')!, /x-namespace/);
    const other = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(other.status, 403);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const token = `Bearer ${issueOperatorToken('ops-alice', alice.privateKey)}`;
    const encode = await fetch(`${server.url}/encode`, { method: 'POST', headers: { authorization: token, 'content-type': 'application/json' }, body: JSON.stringify({ payloads: [] }) });
    assert.equal(encode.status, 405);
    assert.equal(((await encode.json()) as { error: { code: string } }).error.code, 'ENCODE_NOT_OFFERED');
    const ns = await decode({ authorization: token, 'x-namespace': 'temporal-system' });
    assert.equal(ns.status, 403);
  });

  it('tokens: at most an hour, and no claim is believed before the signature', () => {
    assert.throws(() => issueOperatorToken('ops-alice', alice.privateKey, OPERATOR_TOKEN_MAX_LIFETIME_MS + 1), /at most/);
    const now = Date.now();
    const body = b64url(Buffer.from(JSON.stringify({ aud: 'dzl-codec', sub: 'ops-alice', iat: now, exp: now + 2 * OPERATOR_TOKEN_MAX_LIFETIME_MS, jti: 'x' })));
    const long = `${body}.${b64url(sign(null, Buffer.from(body), alice.privateKey))}`;
    assert.throws(() => verifyOperatorToken(long, operators), (e: Error & { code?: string }) => e.code === 'OPERATOR_TOKEN_INVALID');
    const [b, s] = issueOperatorToken('ops-alice', alice.privateKey).split('.');
    const tampered = `${b64url(Buffer.from(Buffer.from(b!, 'base64url').toString().replace('ops-alice', 'ops-alicf')))}.${s}`;
    assert.throws(() => verifyOperatorToken(tampered, operators));
  });

  it('chains the audit lines: each names the SHA-256 of the line before it', () => {
    const lines = readFileSync(audit.file, 'utf8').split('\n').filter(Boolean);
    assert.ok(lines.length > 5);
    for (let i = 1; i < lines.length; i++) assert.equal((JSON.parse(lines[i]!) as { prev: string }).prev, createHash('sha256').update(lines[i - 1]!).digest('hex'));
    // a codec server restarted on the same file continues the chain
    const again = new CodecAudit(audit.file);
    again.record({ event: 'refused', code: 'OPERATOR_UNAUTHENTICATED' });
    const all = readFileSync(audit.file, 'utf8').split('\n').filter(Boolean);
    assert.equal((JSON.parse(all[all.length - 1]!) as { prev: string }).prev, createHash('sha256').update(all[all.length - 2]!).digest('hex'));
  });
});
