import type { Bench } from './lib/context.js';

export const b6: Bench = {
  id: 'B6',
  title: 'not yet written',
  run() {
    return Promise.reject(new Error('not implemented in this build'));
  },
};
