/**
 * An operator's sign-in for the codec server: a token signed with the operator's Ed25519 key,
 * printed as a link for the browser (it sets the session cookie, then opens the Web UI) and as
 * the header for the CLI (`temporal workflow show --codec-endpoint … --codec-auth 'Bearer …'`).
 *
 *   node dist/deploy/bin/operatorLink.js <operator> [--minutes 15]
 *
 * Development only: when the operator has no key yet, one is made in the network folder and its
 * public half added to operators.json. In production each operator keeps the private key on
 * their own machine, and the codec server's operators.json holds public keys only.
 */
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueOperatorToken } from '../../services/temporal/codecServer';

export const operatorsFile = (networkDir: string) => join(networkDir, 'operators', 'operators.json');

export function ensureDevOperator(networkDir: string, operatorId: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{1,62}$/.test(operatorId)) throw new Error(`operator ids are lower-case letters, digits, . _ -: ${operatorId}`);
  const dir = join(networkDir, 'operators');
  const keyFile = join(dir, `${operatorId}.key.pem`);
  if (existsSync(keyFile)) return keyFile;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const file = operatorsFile(networkDir);
  const current = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { operators: { id: string; publicKeyPem: string }[] }) : { operators: [] };
  current.operators = [...current.operators.filter((o) => o.id !== operatorId), { id: operatorId, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }];
  writeFileSync(`${file}.tmp`, JSON.stringify(current, null, 2));
  renameSync(`${file}.tmp`, file);
  process.stderr.write(`development operator ${operatorId}: key ${keyFile}, public key added to ${file}\n`);
  return keyFile;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const operatorId = args[0];
  if (!operatorId) {
    process.stderr.write('usage: operatorLink.js <operator> [--minutes 15]\n');
    process.exit(2);
  }
  const minutes = Number(args[args.indexOf('--minutes') + 1] ?? 15) || 15;
  const env = (name: string, fallback: string) => process.env[name] || fallback;
  const networkDir = env('DZL_NETWORK_DIR', '.dzl/cluster/network');
  const keyFile = ensureDevOperator(networkDir, operatorId);
  const token = issueOperatorToken(operatorId, createPrivateKey(readFileSync(keyFile)), minutes * 60_000);
  const codec = `http://${env('DZL_CODEC_HOST', '127.0.0.1')}:${env('DZL_CODEC_PORT', '17281')}`;
  const ui = `http://127.0.0.1:${env('TEMPORAL_UI_PORT', '17280')}/namespaces/${env('TEMPORAL_NAMESPACE', 'default')}/workflows`;
  process.stdout.write(`${codec}/login?token=${token}&next=${encodeURIComponent(ui)}\n`);
  process.stdout.write(`Authorization: Bearer ${token}\n`);
}
