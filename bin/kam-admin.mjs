#!/usr/bin/env node
// kam-admin: `npm run admin` compiled (dist/admin.mjs): webhooks, maintenance, settings, users, sessions, tokens.
import { loadBuilt } from "./built.mjs";

await loadBuilt("kam-admin", "admin.mjs");
