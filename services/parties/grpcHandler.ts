/**
 * One gRPC handler for every method a reference party serves: the caller must be the router (by
 * its mutual-TLS certificate), the work runs once, and a DzlError becomes its gRPC status in the
 * one place that maps codes (services/grpc/transport.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import { DzlError, toDzlError } from '../common/errors';
import { callerParty, toGrpcError } from '../grpc/transport';

export function fromRouter<Req, Res>(what: string, work: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, cb) => {
    if (callerParty(call as grpc.ServerUnaryCall<unknown, unknown>) !== 'router') {
      cb(toGrpcError(new DzlError('REQUEST_UNAUTHENTICATED', `only the router ${what}`)));
      return;
    }
    Promise.resolve()
      .then(() => work(call.request))
      .then((res) => cb(null, res))
      .catch((err: unknown) => cb(toGrpcError(toDzlError(err))));
  };
}
