// OpenFlow value and message types, from the codec package.
export type * from 'node-openflow';
