/**
 * Encrypts every Temporal payload (workflow inputs, activity results, signals, and — with the
 * failure converter below — error messages and stack traces) with AES-256-GCM under a key only
 * the router's side holds, so the Temporal server and its database never hold anything readable.
 * Workflows carry ids and sealed bytes only; this is the second wall, not the first.
 *
 * Rotation: payloads name the key id they were sealed with; old keys stay in `decryptKeys`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';

export interface PayloadKey {
  keyId: string;
  key: Buffer;
}

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly decryptKeys: Map<string, Buffer>;

  constructor(private readonly current: PayloadKey, previous: PayloadKey[] = []) {
    this.decryptKeys = new Map([...previous, current].map((k) => [k.keyId, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCODING), [KEY_ID]: Buffer.from(this.current.keyId) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (Buffer.from(p.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCODING) return p;
      const keyId = Buffer.from(p.metadata?.[KEY_ID] ?? []).toString();
      const key = this.decryptKeys.get(keyId);
      if (!key) throw new Error(`no payload key ${keyId}; add it to the previous keys to read old histories`);
      const data = Buffer.from(p.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
