// `npm start`: builds what is missing or older than its sources (scripts/ensure-build.mjs: the web UI, the
// compiled server and CLIs, the agent), then runs the compiled server (bin/kam-server.mjs -> dist/server.mjs)
// in this same process: a signal to the process npm started (SIGTERM from systemd or `kill`, SIGINT from a
// terminal, npm forwarding its own) reaches the server itself, which stops cleanly and exits with its status.
import { ensureBuild } from "./ensure-build.mjs";

process.env.NEXT_TELEMETRY_DISABLED = "1";
const args = process.argv.slice(2);
const options = args.includes("--") ? args.slice(0, args.indexOf("--")) : args;
// --help and --version only print (server/cli/args.ts): the compiled server is all they need (esbuild, a second)
ensureBuild(options.some((a) => a === "--help" || a === "-h" || a === "--version") ? ["server"] : null);
await import("../bin/kam-server.mjs");
