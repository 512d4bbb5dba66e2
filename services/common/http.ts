/**
 * Every HTTP server of dzl (the router's API, a bank's page, a platform's callback endpoint)
 * listens with the same bounds: headers of at most 16 KiB that must arrive within 10 s, a whole
 * request within 30 s, idle keep-alive connections closed after 5 s — a slow or endless sender
 * holds a socket for seconds, not forever.
 */
import { createServer, type RequestListener, type Server } from 'node:http';

export const HTTP_LIMITS = { maxHeaderSize: 16 * 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 } as const;

export function boundedServer(handler: RequestListener): Server {
  const server = createServer({ maxHeaderSize: HTTP_LIMITS.maxHeaderSize, requestTimeout: HTTP_LIMITS.requestTimeoutMs, headersTimeout: HTTP_LIMITS.headersTimeoutMs }, handler);
  server.keepAliveTimeout = HTTP_LIMITS.keepAliveTimeoutMs;
  return server;
}

/** Listens and resolves once listening (or rejects when the address is taken). */
export function listenBounded(handler: RequestListener, port: number, host: string): Promise<Server> {
  const server = boundedServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
