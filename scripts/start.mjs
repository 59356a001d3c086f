// `npm start`: builds the web UI when it is missing or older than its sources,
// then runs the server (server/main.ts) in production mode.
import { spawn } from "node:child_process";
import path from "node:path";
import { ensureBuild, root } from "./ensure-build.mjs";

process.env.NEXT_TELEMETRY_DISABLED = "1";
const args = process.argv.slice(2);
const options = args.includes("--") ? args.slice(0, args.indexOf("--")) : args;
// --help and --version only print (server/cli/args.ts): no build for them
if (!options.some((a) => a === "--help" || a === "-h" || a === "--version")) ensureBuild();
const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "server/main.ts"), ...args], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, NODE_ENV: "production" },
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
