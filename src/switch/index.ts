// The switch layer: preparing Open vSwitch (ovs-vsctl) and the OpenFlow 1.3 session to the bridge.
export * from './errors.js';
export * from './clock.js';
export * from './transport.js';
export * from './ovs.js';
export * from './session.js';
export * from './counters.js';
