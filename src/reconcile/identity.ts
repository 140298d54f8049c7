// Flow identity and flow data as strings (OVN's struct ovn_flow: the key is table, priority and match;
// actions and cookie are the data). The keys must be equal for a flow we send and for the same flow as
// Open vSwitch dumps it back (fields reordered, all-ones masks dropped, value & mask stored,
// instructions in execution order, move fields spelled as NXM headers), so both sides go through the
// codec's canonical forms, which normalise through the wire encoding. Checked against ovs-vswitchd in
// test/integration/switch-reconcile.test.ts: a restarted reconciler sends no flow mod.
export { flowKey, instructionsKey, matchKey } from 'node-openflow';
