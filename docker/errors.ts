// Failures as libnetwork's remote-plugin protocol wants them. Docker's plugin documentation: a
// request the plugin cannot decode gets an HTTP error status (4xx or 5xx); a request it decodes but
// cannot carry out gets `{"Err": "..."}` (status 200), which dockerd shows the user as is. A method
// the plugin does not implement is a 404: dockerd treats that as "optional and absent".
// libnetwork reads the message from "Err" for the NetworkDriver and from "Error" for the IpamDriver
// (drivers/remote/api and ipams/remote/api differ), so an error reply carries both.
import { CniError } from '../cni/errors.js';

export type HttpStatus = 200 | 400 | 404 | 500;

export class PluginError extends Error {
  constructor(
    message: string,
    readonly status: HttpStatus = 200,
  ) {
    super(message);
    this.name = 'PluginError';
  }
}

/** The request body is not what the protocol defines (dockerd never sends such a thing). */
export const badRequest = (message: string): PluginError => new PluginError(message, 400);

export interface ErrorReply {
  status: HttpStatus;
  body: { Err: string; Error: string };
}

const reply = (status: HttpStatus, message: string): ErrorReply => ({ status, body: { Err: message, Error: message } });

/**
 * Any thrown value as the reply dockerd expects. Library errors (CniError from the IPAM store,
 * NetlinkError from the kernel) already say what failed on which object; their text is kept, with
 * a CniError's details appended.
 */
export function errorReply(err: unknown): ErrorReply {
  if (err instanceof PluginError) return reply(err.status, err.message);
  if (err instanceof CniError) return reply(200, err.details ? `${err.message} (${err.details})` : err.message);
  const message = err instanceof Error ? err.message : String(err);
  return reply(200, message || 'unknown error');
}
