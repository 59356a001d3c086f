// Builds the agent into ONE file, dist/keepalived-agent.cjs, that runs with plain `node` (18+) and no node_modules:
// socket.io-client, zod and pino are bundled in. Run by `npm run build:agent`.
import { build } from "esbuild";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outfile = path.join(root, "dist", "keepalived-agent.cjs");
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

const result = await build({
  entryPoints: [path.join(root, "agent", "main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  target: "node18",
  format: "cjs",
  // whitespace and syntax only: identifiers stay readable in stack traces
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: false,
  legalComments: "none",
  define: { __AGENT_VERSION__: JSON.stringify(version) },
  // optional native speedups of ws; it falls back to plain JS without them
  external: ["bufferutil", "utf-8-validate"],
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
  // written below via a temporary file + rename, so an agent starting meanwhile never reads half a bundle
  write: false,
});

const [out] = result.outputFiles;
mkdirSync(path.dirname(outfile), { recursive: true });
const tmp = `${outfile}.${process.pid}.tmp`;
writeFileSync(tmp, out.contents, { mode: 0o755 });
renameSync(tmp, outfile);

const bytes = out.contents.length;
console.log(`built ${path.relative(root, outfile)}: ${(bytes / 1024).toFixed(1)} KiB (${bytes} bytes), agent ${version}`);
