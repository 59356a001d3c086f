#!/usr/bin/env node
// kam-token: `npm run token` compiled (dist/token.mjs): agent tokens.
import { loadBuilt } from "./built.mjs";

await loadBuilt("kam-token", "token.mjs");
