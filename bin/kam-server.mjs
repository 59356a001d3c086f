#!/usr/bin/env node
// kam-server: the compiled monitor server (dist/server.mjs), with the options of `npm start --` (kam-server --help).
// It does not build: `npm run build` first, or `npm start`, which builds what is missing or stale.
import { loadBuilt } from "./built.mjs";

// the build is a production build: Next and React read NODE_ENV
process.env.NODE_ENV = "production";
process.env.NEXT_TELEMETRY_DISABLED ??= "1";
const { main } = await loadBuilt("kam-server", "server.mjs");
await main();
