/**
 * The codec server as a process of its own (services/temporal/codecServer.ts), for the Temporal
 * Web UI of deploy/cluster.sh. It holds the payload keys (the network folder's
 * parties/router/payload.key and the previous ones) and the operators' public keys only.
 *   DZL_NETWORK_DIR, DZL_CODEC_HOST, DZL_CODEC_PORT, DZL_CODEC_ALLOWED_ORIGINS (comma-separated,
 *   the UI's origin), DZL_CODEC_OPERATORS (operators.json), DZL_CODEC_AUDIT (the audit file),
 *   TEMPORAL_NAMESPACE, DZL_CODEC_SECURE_COOKIES=1 behind HTTPS
 */
import { join } from 'node:path';
import { loadPayloadKeys } from '../../services/network/folder';
import { AesGcmPayloadCodec } from '../../services/temporal/codec';
import { CodecAudit, operatorsFromFile, startCodecServer } from '../../services/temporal/codecServer';
import { operatorsFile } from './operatorLink';

const env = (name: string, fallback: string) => process.env[name] || fallback;

async function main(): Promise<void> {
  const networkDir = env('DZL_NETWORK_DIR', '.dzl/cluster/network');
  const { current, previous } = loadPayloadKeys(networkDir);
  const audit = new CodecAudit(env('DZL_CODEC_AUDIT', join(env('DZL_CLUSTER_DIR', '.dzl/cluster'), 'codec-audit.jsonl')));
  const running = await startCodecServer(
    {
      codec: new AesGcmPayloadCodec(current, previous),
      operators: operatorsFromFile(env('DZL_CODEC_OPERATORS', operatorsFile(networkDir))),
      allowedOrigins: env('DZL_CODEC_ALLOWED_ORIGINS', `http://127.0.0.1:${env('TEMPORAL_UI_PORT', '17280')}`).split(',').map((s) => s.trim()),
      namespaces: [env('TEMPORAL_NAMESPACE', 'default')],
      audit,
      secureCookies: process.env.DZL_CODEC_SECURE_COOKIES === '1',
    },
    { host: env('DZL_CODEC_HOST', '127.0.0.1'), port: Number(env('DZL_CODEC_PORT', '17281')) },
  );
  process.stderr.write(`dzl codec server running at ${running.url} (decode only; audit ${audit.file})\n`);
  const stop = () => void running.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`dzl codec server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
