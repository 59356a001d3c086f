#!/usr/bin/env node
// kam-agent: the agent bundle (dist/keepalived-agent.cjs, which also runs alone: `node keepalived-agent.cjs`).
import { loadBuilt } from "./built.mjs";

await loadBuilt("kam-agent", "keepalived-agent.cjs");
