import type { Bench } from './lib/context.js';

export const b2: Bench = {
  id: 'B2',
  title: 'not yet written',
  run() {
    return Promise.reject(new Error('not implemented in this build'));
  },
};
