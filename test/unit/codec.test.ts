import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from '../../services/temporal/codec';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPayloadKeys, rotatePayloadKey } from '../../services/network/folder';

describe('Temporal payload codec', () => {
  const k1 = { keyId: 'k1', key: randomBytes(32) };
  const k2 = { keyId: 'k2', key: randomBytes(32) };

  it('leaves nothing readable in the encoded payload and round-trips', async () => {
    const codec = new AesGcmPayloadCodec(k1);
    const payload = defaultPayloadConverter.toPayload({ applicationId: 'app_1', note: '张晓梅 330106199003154821' });
    const [enc] = await codec.encode([payload]);
    assert.ok(!Buffer.from(enc!.data!).includes(Buffer.from('330106199003154821')));
    assert.ok(!Buffer.from(enc!.data!).includes(Buffer.from('app_1')));
    const [dec] = await codec.decode([enc!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(dec!), { applicationId: 'app_1', note: '张晓梅 330106199003154821' });
  });

  it('reads payloads sealed under a previous key after rotation, and refuses unknown keys', async () => {
    const [old] = await new AesGcmPayloadCodec(k1).encode([defaultPayloadConverter.toPayload('x')]);
    const rotated = new AesGcmPayloadCodec(k2, [k1]);
    assert.equal(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!), 'x');
    await assert.rejects(new AesGcmPayloadCodec(k2).decode([old!]), /no payload key k1/);
  });

  it('fails closed on a tampered payload', async () => {
    const [enc] = await new AesGcmPayloadCodec(k1).encode([defaultPayloadConverter.toPayload('x')]);
    const data = Buffer.from(enc!.data!);
    data[20] ^= 1;
    await assert.rejects(new AesGcmPayloadCodec(k1).decode([{ ...enc!, data }]));
  });
});

describe('payload key rotation in the network folder', () => {
  it('keeps the old key among the previous ones, so histories written before stay readable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dzl-payload-'));
    mkdirSync(join(dir, 'parties', 'router'), { recursive: true });
    writeFileSync(join(dir, 'parties', 'router', 'payload.key'), JSON.stringify({ keyId: 'payload-1', key: randomBytes(32).toString('base64') }), { mode: 0o600 });
    const before = loadPayloadKeys(dir);
    const [old] = await new AesGcmPayloadCodec(before.current, before.previous).encode([defaultPayloadConverter.toPayload('written before')]);
    const newId = rotatePayloadKey(dir);
    const after = loadPayloadKeys(dir);
    assert.equal(after.current.keyId, newId);
    assert.deepEqual(after.previous.map((k) => k.keyId), ['payload-1']);
    assert.equal(statSync(join(dir, 'parties', 'router', 'payload.previous.json')).mode & 0o077, 0, 'the previous keys are not readable by others');
    const codec = new AesGcmPayloadCodec(after.current, after.previous);
    assert.equal(defaultPayloadConverter.fromPayload((await codec.decode([old!]))[0]!), 'written before');
    const [fresh] = await codec.encode([defaultPayloadConverter.toPayload('written after')]);
    await assert.rejects(new AesGcmPayloadCodec(before.current).decode([fresh!]), /no payload key/);
  });
});
