import type { Bench } from './lib/context.js';

export const b3: Bench = {
  id: 'B3',
  title: 'not yet written',
  run() {
    return Promise.reject(new Error('not implemented in this build'));
  },
};
