// Typed errors of the switch layer. Each has a stable code and a message that says what happened and
// what to do about it (docs/architecture.md, "Errors a user can meet").

export type SwitchErrorCode =
  | 'OVS_NOT_INSTALLED' // ovs-vsctl not found
  | 'OVS_DB_UNREACHABLE' // ovsdb-server not answering at the --db target
  | 'OVS_COMMAND_FAILED' // an ovs-vsctl command failed for another reason
  | 'OVS_BRIDGE_CONFIG' // the bridge could not be brought to the wanted state
  | 'OVS_TUNNEL_PORT' // the tunnel port could not be created or has no ofport
  | 'SWITCH_BAD_TARGET'
  | 'SWITCH_TLS_FILES'
  | 'SWITCH_NO_OF13' // the peer does not speak OpenFlow 1.3
  | 'SWITCH_DISCONNECTED' // the request's connection went away
  | 'SWITCH_TIMEOUT' // no reply in time
  | 'SWITCH_OFP_ERROR' // the switch answered with OFPT_ERROR
  | 'SWITCH_BAD_REPLY' // a reply broke the protocol or a limit (wrong multipart type, too many entries or bytes)
  | 'SWITCH_CLOSED'; // the session was stopped

export class SwitchError extends Error {
  constructor(
    readonly code: SwitchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SwitchError';
  }
}
