// Builds the agent into ONE file, dist/keepalived-agent.cjs, that runs with plain `node` (18+) and no node_modules:
// socket.io-client, zod/mini (with zod's English locale) and pino are bundled in. Run by `npm run build:agent`.
//
// zod/mini, never zod classic (`import { z } from "zod"`): classic, which loads every locale, was 569 KiB of a
// 895.6 KiB bundle; zod/mini with the English locale is 45 KiB of 369.1 KiB (the locale 3 KiB). The agent starts
// ~10.5 MiB smaller in RSS with node's defaults, ~3 MiB with the unit's V8/malloc settings (issue 18).
// server/protocol.ts and agent/options.ts are written with zod/mini; the build fails if a module the agent reaches
// pulls classic in again (the metafile check below names it).
import { build } from "esbuild";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outfile = path.join(root, "dist", "keepalived-agent.cjs");
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

// Four modules of the agent's dependencies are replaced in its bundle by the few lines it uses of them (issue 17: every
// node module loaded stays in an idle agent's memory, on every keepalived node). Same-run RSS, docs/PERFORMANCE.md:
// - pino's transports (pino.transport(), run in worker threads: thread-stream, worker_threads, module): the agent
//   logs JSON lines to stderr with a synchronous destination and never starts one; calling it throws and says so;
// - pino's `isMainThread` (worker_threads, to register an exit flush for asynchronous destinations): the agent's
//   logger always runs on the main thread;
// - sonic-boom's `assert` (node:assert, two argument checks): the same check, an Error with the same message;
// - `debug`, socket.io-client's and engine.io's tracing (tty, supports-color, ms): silent, as it is without DEBUG
//   set; the agent's own logs name every connection problem (agent/connect-errors.ts).
const LEAN = [
  { path: /^\.\/(lib\/)?transport$/, importer: /node_modules\/pino\/(pino|lib\/tools)\.js$/, name: "pino-transport",
    contents: 'module.exports = function transport() { throw new Error("pino.transport() is not in the agent\'s bundle: the agent logs JSON lines to stderr (agent/build.mjs)"); };' },
  { path: /^worker_threads$/, importer: /node_modules\/pino\/lib\/tools\.js$/, name: "pino-main-thread", contents: "exports.isMainThread = true;" },
  { path: /^assert$/, importer: /node_modules\/sonic-boom\/index\.js$/, name: "sonic-boom-assert",
    contents: "module.exports = function assert(ok, message) { if (!ok) throw new Error(message); };" },
  { path: /^debug$/, importer: /node_modules\/(socket\.io-client|engine\.io-client|socket\.io-parser)\//, name: "debug-off",
    contents: "module.exports = function debug() { const d = function () {}; d.enabled = false; d.extend = debug; return d; };" },
];
const lean = {
  name: "lean",
  setup(b) {
    b.onResolve({ filter: /^(\.\/(lib\/)?transport|worker_threads|assert|debug)$/ }, (a) => {
      const hit = LEAN.find((l) => l.path.test(a.path) && l.importer.test(a.importer));
      return hit ? { path: hit.name, namespace: "lean" } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: "lean" }, (a) => ({ contents: LEAN.find((l) => l.name === a.path).contents, loader: "js" }));
  },
};

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
  metafile: true,
  plugins: [lean],
});

// every replacement took (a dependency's update could move what it imports): name the ones that did not
const leanUsed = new Set(Object.keys(result.metafile.inputs).filter((f) => f.startsWith("lean:")).map((f) => f.slice(5)));
const leanMissing = LEAN.filter((l) => !leanUsed.has(l.name)).map((l) => l.name);
if (leanMissing.length) {
  console.error(`agent bundle: replacement(s) ${leanMissing.join(", ")} matched nothing: check LEAN in agent/build.mjs against the dependency's imports`);
  process.exit(1);
}

// zod classic (zod's main entry, v4/classic, v3) must not be in the bundle: name the modules that import it
const classic = /node_modules\/zod\/(index\.c?js$|v4\/index\.c?js$|v4\/classic\/|v3\/)/;
const importers = Object.entries(result.metafile.inputs)
  .filter(([file]) => !file.includes("node_modules/zod/"))
  .flatMap(([file, input]) => input.imports.filter((i) => classic.test(i.path)).map((i) => `${file} (import "${i.original ?? i.path}")`));
if (importers.length || Object.keys(result.metafile.inputs).some((f) => classic.test(f))) {
  console.error(`agent bundle: zod classic is bundled, imported by ${importers.join(", ") || "(a dependency)"}: use zod/mini (import * as z from "zod/mini") in what the agent imports`);
  process.exit(1);
}

const [out] = result.outputFiles;
mkdirSync(path.dirname(outfile), { recursive: true });
const tmp = `${outfile}.${process.pid}.tmp`;
writeFileSync(tmp, out.contents, { mode: 0o755 });
renameSync(tmp, outfile);

const bytes = out.contents.length;
console.log(`built ${path.relative(root, outfile)}: ${(bytes / 1024).toFixed(1)} KiB (${bytes} bytes), agent ${version}`);
