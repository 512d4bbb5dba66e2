/**
 * One gRPC handler for every method a reference party serves: the caller must be the router — its
 * mutual-TLS certificate a registered `tls` certificate of the router, in force and not revoked in
 * the party's directory, checked on every call — the work runs once, and a DzlError becomes its gRPC
 * status in the one place that maps codes (services/grpc/transport.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import { DzlError, toDzlError } from '../common/errors';
import { callerKeyId, toGrpcError } from '../grpc/transport';
import type { NetworkDirectory } from '../registry/directory';

export function fromRouter<Req, Res>(directory: () => NetworkDirectory, what: string, work: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, cb) => {
    Promise.resolve()
      .then(() => {
        try {
          directory().tlsCaller(callerKeyId(call as grpc.ServerUnaryCall<unknown, unknown>), ['router']);
        } catch (err) {
          throw new DzlError(toDzlError(err).code, `only the router ${what}, with its registered TLS certificate`);
        }
        return work(call.request);
      })
      .then((res) => cb(null, res))
      .catch((err: unknown) => cb(toGrpcError(toDzlError(err))));
  };
}
