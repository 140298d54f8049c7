#!/usr/bin/env node
// The `ofp` command of node-openflow; the TypeScript sources are compiled to dist/ by `npm run build`.
import { main } from '../dist/cli/ofp.js';

process.exitCode = await main(process.argv.slice(2));
