// CNI spec errors. Every plugin failure becomes one of these, printed as
// {cniVersion, code, msg, details} on stdout with exit status 1 (see skel.ts).

/** Error codes from the CNI spec (0-99) and ctnet's own (100+). */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD now. */
  PluginNotAvailable: 50,
  /** STATUS: not available, and existing containers may have limited connectivity. */
  LimitedConnectivity: 51,
  // ctnet-specific (the spec reserves 100+ for plugins)
  AddressExhausted: 100,
  AddressConflict: 101,
  PortConflict: 102,
  NamespaceNotFound: 103,
  /** The container network mode found no network to join. */
  NoNetwork: 104,
  /** CHECK: the attachment no longer matches what ADD made. */
  CheckFailed: 105,
  Internal: 999,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class CniError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly details?: string,
  ) {
    super(msg);
    this.name = 'CniError';
  }

  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Any thrown value as a CniError: unknown errors become code 999 with their message kept. */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return new CniError(ErrorCode.Internal, err.message, code ? `errno ${code}` : undefined);
  }
  return new CniError(ErrorCode.Internal, String(err));
}
