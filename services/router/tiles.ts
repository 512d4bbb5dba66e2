/**
 * The evidence log served read-only as C2SP tlog-tiles (contracts/tlog.md), under /log/:
 *
 *   GET /log/checkpoint              the latest signed checkpoint with its cosignatures (text/plain)
 *   GET /log/tile/<L>/<N>[.p/<W>]    a hash tile, full or the first W hashes of a partial one
 *
 * so that any client of the C2SP formats — a witness, a regulator's monitor — follows and checks
 * the log without dzl's code. Entry bundles (tile/entries/…) are not served: a leaf is
 * who-saw-what metadata (party ids, field names, refusal messages) that only a regulator's
 * authenticated bundle carries; the hashes are enough to follow the tree and check proofs.
 *
 * Unauthenticated, on purpose. A tile holds SHA-256 hashes of leaves whose bytes include random
 * ids and times, so it reveals nothing of them; the checkpoint's origin is the log's public name
 * (it is in every bundle), and its size — a count of leaves, a coarse rate of activity — is what
 * a witness must see anyway. What a log gains from being public is what stops split views: the
 * more parties can fetch the checkpoint, the harder it is to show two histories. A deployment
 * that wants the count private puts /log/ behind the same mutual-TLS proxy as the rest.
 */
import type Koa from 'koa';
import { DzlError } from '../common/errors';
import { HASH_SIZE } from '../evidence/merkle';
import { TILE_WIDTH, TileError, parseTilePath } from '../evidence/tiles';
import { latestCheckpoint, publishCheckpoint, type LogConfig } from '../ledger/log';
import type { Db } from '../store/db';
import { readTile } from '../store/evidenceLog';

export const LOG_PREFIX = '/log/';

export interface TileLogDeps {
  db: Db;
  log: LogConfig;
}

async function serveCheckpoint(deps: TileLogDeps, ctx: Koa.Context): Promise<void> {
  // a new log has no checkpoint until the first interval: sign the empty one rather than 404
  const cp = (await latestCheckpoint(deps.db)) ?? (await publishCheckpoint(deps.db, deps.log));
  ctx.type = 'text/plain; charset=utf-8';
  ctx.set('Cache-Control', 'no-cache');
  ctx.body = cp.note;
}

async function serveTile(deps: TileLogDeps, ctx: Koa.Context, path: string): Promise<void> {
  if (path.startsWith('tile/entries/')) throw new DzlError('ENDPOINT_NOT_FOUND', 'this log serves hash tiles only; leaves travel in regulators’ evidence bundles');
  let address;
  try {
    address = parseTilePath(path);
  } catch (err) {
    if (err instanceof TileError) throw new DzlError('REQUEST_MALFORMED', err.message);
    throw err;
  }
  const stored = await readTile(deps.db, address.level, address.index);
  const have = stored ? stored.length / HASH_SIZE : 0;
  // a full tile only once it is full; a partial one as a prefix of what the tile holds now
  if (!stored || have < address.width) throw new DzlError('ENDPOINT_NOT_FOUND', `${path}: the log has no such tile (yet)`);
  ctx.type = 'application/octet-stream';
  ctx.set('Cache-Control', address.width === TILE_WIDTH ? 'public, max-age=31536000, immutable' : 'public, max-age=60');
  ctx.body = Buffer.from(stored.subarray(0, address.width * HASH_SIZE));
}

/** GET /log/checkpoint and /log/tile/…; every other request passes on. */
export function tileLogRoutes(deps: TileLogDeps): Koa.Middleware {
  return async (ctx, next) => {
    if (!ctx.path.startsWith(LOG_PREFIX)) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new DzlError('ENDPOINT_NOT_FOUND', `${ctx.method} ${ctx.path}: the log is read-only`);
    const path = ctx.path.slice(LOG_PREFIX.length);
    if (path === 'checkpoint') return serveCheckpoint(deps, ctx);
    if (path.startsWith('tile/')) return serveTile(deps, ctx, path);
    throw new DzlError('ENDPOINT_NOT_FOUND', `no ${ctx.path}; the log serves ${LOG_PREFIX}checkpoint and ${LOG_PREFIX}tile/…`);
  };
}
