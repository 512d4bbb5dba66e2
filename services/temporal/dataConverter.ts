import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec, type PayloadKey } from './codec';

/** The same converter for client and worker: encrypted payloads, encoded failures. */
export function dzlDataConverter(key: PayloadKey, previous: PayloadKey[] = []): DataConverter {
  return {
    payloadCodecs: [new AesGcmPayloadCodec(key, previous)],
    failureConverterPath: require.resolve('./failureConverter'),
  };
}

