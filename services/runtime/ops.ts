/**
 * Each process's operations endpoint, apart from the API it serves (bind it to an internal
 * interface): `GET /healthz` (the process runs), `GET /readyz` (it can do its work: store and
 * Temporal reachable — 503 with the failing check's name otherwise), `GET /metrics` (Prometheus
 * text, services/common/metrics.ts). Nothing here names an application or a party's value.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '../common/metrics';
import { listenBounded } from '../common/http';

export type ReadinessChecks = Record<string, () => Promise<unknown>>;

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

export async function startOpsServer(checks: ReadinessChecks, collect: () => Promise<void>, port = 0, host = '127.0.0.1'): Promise<OpsServer> {
  const server: Server = await listenBounded(async (req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    try {
      if (req.method !== 'GET') return send(405, 'text/plain', 'GET only\n');
      if (req.url === '/healthz') return send(200, 'application/json', '{"status":"ok"}\n');
      if (req.url === '/readyz') {
        const failing: string[] = [];
        await Promise.all(Object.entries(checks).map(([name, check]) => check().catch(() => failing.push(name))));
        return failing.length === 0 ? send(200, 'application/json', '{"status":"ready"}\n') : send(503, 'application/json', `${JSON.stringify({ status: 'not ready', failing: failing.sort() })}\n`);
      }
      if (req.url === '/metrics') {
        await collect().catch(() => undefined); // a gauge the store cannot give now stays as it was
        return send(200, metrics.contentType, await metrics.metrics());
      }
      return send(404, 'text/plain', 'healthz, readyz, metrics\n');
    } catch {
      return send(500, 'text/plain', 'internal error\n');
    }
  }, port, host);
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
