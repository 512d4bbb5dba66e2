/**
 * A party process's configuration file (contracts/parties.md §1): JSON, checked against this
 * schema when the process starts — a member it does not define, or a value of the wrong type,
 * stops the start with the member's path. Paths in it are relative to the file.
 */
import { Type, type Static } from '@sinclair/typebox';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { checker } from '../evidence/schema';
import { PluginSpec } from './pluginLoader';

const closed = { additionalProperties: false } as const;
const HostPort = Type.String({ pattern: '^[^\\s:]+:\\d{1,5}$' });
const Url = Type.String({ pattern: '^https?://[^\\s]+$' });

export const PartyConfig = Type.Object(
  {
    /** The role the process runs as: it must be the role of the party in `folder`. */
    role: Type.Union([Type.Literal('channel'), Type.Literal('bank'), Type.Literal('platform')]),
    /** The party's own folder, as `dzl party init` and `dzl party install` left it. */
    folder: Type.String({ minLength: 1 }),
    /** The router's HTTP API (its directory, consents, redirects). */
    routerUrl: Url,
    /** The router's gRPC endpoint (a bank's asynchronous decisions, claims, disbursements); default: the router's in the directory. */
    routerGrpc: Type.Optional(HostPort),
    listen: Type.Optional(
      Type.Object(
        {
          /** A channel's or bank's gRPC service: the endpoint the operator registered for it. */
          grpc: Type.Optional(HostPort),
          /** A bank's application page (direct redirect). */
          web: Type.Optional(HostPort),
          /** A platform's callback receiver: its registered callback origin. */
          callback: Type.Optional(HostPort),
          /** A platform's own system's API (submit, redirect, status): bind it to loopback or an internal interface. */
          api: Type.Optional(HostPort),
          /** healthz, readyz, metrics. */
          ops: Type.Optional(HostPort),
        },
        closed,
      ),
    ),
    /** The encrypted store: one SQLite file per party, and its keyring apart (default: beside the folder's keys, under store/ and vault-keys/). */
    store: Type.Optional(Type.Object({ dataDir: Type.Optional(Type.String()), keyDir: Type.Optional(Type.String()) }, closed)),
    directory: Type.Optional(
      Type.Object({ refreshMs: Type.Optional(Type.Integer({ minimum: 200, maximum: 3_600_000 })), maxAgeMs: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 86_400_000 })) }, closed),
    ),
    /** Structured logs (pino JSON lines): a file, or standard error. */
    log: Type.Optional(Type.Object({ file: Type.Optional(Type.String()) }, closed)),
    channel: Type.Optional(Type.Object({ policy: Type.Optional(PluginSpec) }, closed)),
    bank: Type.Optional(
      Type.Object(
        {
          engine: Type.Optional(PluginSpec),
          /** Answer each delivery with a receipt only, and submit the decision this many ms later (RouterService.SubmitDecision). */
          asyncAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
          /** Report each approved loan's disbursement this many ms after approving it. */
          disburseAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        closed,
      ),
    ),
    platform: Type.Optional(
      Type.Object(
        {
          /** The licensed channel the platform seals its applications for. */
          channel: Type.String({ minLength: 1 }),
          /** A bearer token the platform's own system presents to its API (none: loopback callers only). */
          apiToken: Type.Optional(Type.String({ minLength: 16 })),
        },
        closed,
      ),
    ),
  },
  closed,
);
export type PartyConfig = Static<typeof PartyConfig>;

const checkConfig = checker(PartyConfig);

export interface LoadedConfig {
  config: PartyConfig;
  /** The file's folder: relative paths resolve from it. */
  baseDir: string;
  path(p: string): string;
}

export function readPartyConfig(file: string): LoadedConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not a JSON configuration (${err instanceof Error ? err.message : 'unreadable'})`);
  }
  if (!checkConfig(raw)) throw new Error(`${file}: ${checkConfig.problem()}`);
  const baseDir = dirname(resolve(file));
  if (raw.role === 'platform' && !raw.platform) throw new Error(`${file}: a platform's configuration names its channel (platform.channel)`);
  return { config: raw, baseDir, path: (p) => (isAbsolute(p) ? p : resolve(baseDir, p)) };
}
