/**
 * Where the router may call out to: a platform's callback URL, and nowhere else it was not told.
 * A callback URL is http(s), without credentials, at an origin its platform registered; and its
 * host never resolves to a loopback, private, link-local or otherwise internal address unless the
 * operator allowed that (the development network does). Checked when the URL is submitted, and
 * again at every connection — the address is checked as it is resolved, so a name that changes
 * its answer later (DNS rebinding) still cannot reach inside.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOneOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { DzlError } from '../common/errors';

export interface OutboundPolicy {
  /** Allow loopback and private addresses (a development network on one machine). */
  allowPrivateNetworks: boolean;
}

const INTERNAL = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) INTERNAL.addSubnet(net, bits, 'ipv6');

/** Loopback, private, link-local, shared, multicast or reserved: not a place a callback may go. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  // an IPv4 address written as IPv6 (::ffff:10.0.0.1) is the IPv4 address
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return INTERNAL.check(mapped[1]!, 'ipv4');
  return INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function refused(why: string): DzlError {
  return new DzlError('CALLBACK_URL_REFUSED', `callbackUrl ${why}; register the callback origin with the network operator`, { member: 'callbackUrl' });
}

/** The submitted callback URL, checked against the platform's registered origins and the policy. */
export function checkCallbackUrl(input: unknown, registeredOrigins: readonly string[], policy: OutboundPolicy): URL {
  if (typeof input !== 'string' || input.length > 2048) throw refused('must be an http(s) URL of at most 2048 characters');
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw refused('must be an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refused('must be http or https');
  if (url.username || url.password) throw refused('may not carry credentials');
  if (!registeredOrigins.includes(url.origin)) throw refused('is not at an origin the platform registered');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowPrivateNetworks && (isIP(host) ? isInternalAddress(host) : /^(localhost|.*\.localhost|.*\.local|.*\.internal)$/i.test(host))) {
    throw refused('names an internal address');
  }
  return url;
}

/** dns.lookup that fails any name resolving to an internal address (unless the policy allows). */
export function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return ((hostname: string, options: LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as LookupAddress[];
      const bad = !policy.allowPrivateNetworks && list.some((a) => isInternalAddress(a.address));
      if (bad || list.length === 0) {
        const e = new Error('callback host resolves to an internal address') as NodeJS.ErrnoException;
        e.code = 'ECALLBACKREFUSED';
        return callback(e, '');
      }
      if ((options as { all?: boolean }).all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  }) as LookupFunction;
}

export interface OutboundResponse {
  status: number;
  body: Buffer;
}

/**
 * A POST to an outbound URL through the guarded lookup, with a deadline, at most `maxBytes` of
 * answer read (the rest is refused), no redirects followed.
 */
export function postOutbound(url: URL, headers: Record<string, string>, body: Buffer, opts: { timeoutMs: number; maxBytes: number; policy: OutboundPolicy }): Promise<OutboundResponse> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !opts.policy.allowPrivateNetworks && isInternalAddress(host)) return Promise.reject(refused('names an internal address'));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, lookup: guardedLookup(opts.policy), timeout: opts.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > opts.maxBytes) {
          req.destroy(new Error(`callback answer exceeds ${opts.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('callback timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
