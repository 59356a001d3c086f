// Compiles the server and its CLIs to JavaScript with esbuild (issue 14): dist/server.mjs (server/main.ts),
// dist/admin.mjs (server/cli/admin.ts), dist/token.mjs (server/cli/token.ts). Run by scripts/ensure-build.mjs
// (npm run build, npm start, npm test); nothing transpiles TypeScript when they run.
//
// The project's own code is bundled, the generated Prisma client (server/generated/prisma, TypeScript written by
// `prisma generate`) included. Every package from node_modules stays an import (`packages: "external"`): Next,
// the Prisma runtime and its query compiler WASM, PGlite and its WASM/data files, pg, socket.io and pino find
// their own files from node_modules at run time, as under tsx. Each output is self-contained (no shared chunks),
// written to a temporary file and renamed, so a process starting meanwhile never reads half of one.
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The compiled entry points: output name (under dist/) and source. */
export const SERVER_ENTRIES = { server: "server/main.ts", admin: "server/cli/admin.ts", token: "server/cli/token.ts" };

export async function buildServer() {
  const t = Date.now();
  const result = await build({
    entryPoints: Object.fromEntries(Object.entries(SERVER_ENTRIES).map(([out, src]) => [out, path.join(root, src)])),
    outdir: path.join(root, "dist"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    // a stack trace names server/*.ts lines with node --enable-source-maps
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
    write: false,
  });
  fs.mkdirSync(path.join(root, "dist"), { recursive: true });
  // the .map files first: a new bundle never points at an old map
  const files = [...result.outputFiles].sort((a, b) => Number(b.path.endsWith(".map")) - Number(a.path.endsWith(".map")));
  for (const f of files) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, f.contents);
    fs.renameSync(tmp, f.path);
  }
  const sizes = files.filter((f) => f.path.endsWith(".mjs")).map((f) => `${path.relative(root, f.path)} ${(f.contents.length / 1024).toFixed(0)} KiB`);
  console.log(`built ${sizes.join(", ")} (esbuild, ${Date.now() - t} ms)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildServer();
