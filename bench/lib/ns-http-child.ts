// Runs inside a lab host's network namespace (the agents' REST APIs listen on underlay addresses the
// bench process cannot reach): reads one JSON request per line on stdin, answers one JSON line per
// request on stdout. Started once, so a request costs no process start.
import { createInterface } from 'node:readline';
import { nsHttp } from '../../test/support/ns-http.js';
import type { NsHttpRequest } from '../../test/support/ns-http.js';

interface Req extends NsHttpRequest {
  id: number;
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let req: Req;
  try {
    req = JSON.parse(line) as Req;
  } catch {
    return;
  }
  void nsHttp(req).then((res) => process.stdout.write(`${JSON.stringify({ id: req.id, ...res })}\n`));
});
