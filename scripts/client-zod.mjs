// The browser bundles carry zod/mini, never zod classic (`import { z } from "zod"`): classic is a 136 KB chunk
// that every page parsed and initialised (issue 17: the 7-day timeline's first draw). The same rule as the agent's
// (agent/build.mjs), checked two ways:
//   classicChunks(root)     the BUILT output: .next/static/**/*.js holding classic's signature (below). This is what
//                           the browser really loads, whatever the import graph looks like; `next build` (through
//                           scripts/ensure-build.mjs) fails on it. Production chunks carry no module paths, so it
//                           cannot say who imported classic: the build message names them with the walk below.
//   classicImporters(root)  the SOURCES: every module reachable from a "use client" file (its static, re-exported
//                           and dynamic imports, transitively; `import type` ships nothing and is not followed) that
//                           imports classic zod, with the chain from the client file. Needs no build: a unit test
//                           (test/unit/client-zod.test.ts) runs it.
// Server-only modules (routes, stores, page server components) may use classic: they never reach the browser.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

/** import specifiers of zod classic: the main entry, v4 (= classic), v4/classic, v3 */
export const CLASSIC_SPEC = /^zod(\/v4|\/v4\/classic(\/.*)?|\/v3(\/.*)?)?$/;
/** classic's schema base type constructor ("ZodType"), classic's error ("ZodError"), v3's type kinds ("ZodString"):
 * string literals that survive minification; zod/mini's are "ZodMini...", zod core's "$Zod..." */
export const CLASSIC_SIGNATURE = /["'](ZodType|ZodError|ZodString)["']/;

const SOURCE_DIRS = ["app", "components", "server"];
const EXTENSIONS = ["", ".ts", ".tsx", ".js", ".mjs", "/index.ts", "/index.tsx"];

function sourceFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "generated" ? [] : sourceFiles(p);
    return /\.(ts|tsx)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** the modules the browser bundles start from: files whose first statement is "use client" */
export function clientEntries(root) {
  const ts = require("typescript");
  return SOURCE_DIRS.flatMap((d) => sourceFiles(path.join(root, d))).filter((f) => {
    const sf = ts.createSourceFile(f, fs.readFileSync(f, "utf8"), ts.ScriptTarget.Latest, false);
    const first = sf.statements[0];
    return first && ts.isExpressionStatement(first) && ts.isStringLiteral(first.expression) && first.expression.text === "use client";
  });
}

/** the specifiers a module imports at run time: `import type`, `export type` and imports of types only are left out */
function runtimeImports(ts, file) {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true, file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out = [];
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const typeOnly = c && (c.isTypeOnly || (!c.name && c.namedBindings && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** a relative or "@/" specifier as a file; null for a package */
function resolve(root, from, spec) {
  let base;
  if (spec.startsWith(".")) base = path.resolve(path.dirname(from), spec);
  else if (spec.startsWith("@/")) base = path.join(root, spec.slice(2));
  else return null;
  for (const ext of EXTENSIONS) {
    const c = base + ext;
    if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  }
  throw new Error(`${path.relative(root, from)}: cannot resolve "${spec}"`);
}

/** the client-reachable modules that import zod classic: { file, spec, chain } (chain: from the "use client" file to file) */
export function classicImporters(root, entries = clientEntries(root)) {
  const ts = require("typescript");
  const found = [];
  const seen = new Set();
  const walk = (file, chain) => {
    if (seen.has(file)) return;
    seen.add(file);
    const here = [...chain, path.relative(root, file)];
    for (const spec of runtimeImports(ts, file)) {
      if (CLASSIC_SPEC.test(spec)) found.push({ file: path.relative(root, file), spec, chain: here });
      const next = resolve(root, file, spec);
      if (next) walk(next, here);
    }
  };
  for (const e of entries) walk(e, []);
  return found;
}

/** the built browser chunks (paths relative to .next/) holding zod classic */
export function classicChunks(root) {
  const dir = path.join(root, ".next", "static");
  if (!fs.existsSync(dir)) throw new Error(`${path.relative(root, dir)} is missing: build the web UI first`);
  const files = [];
  const list = (d) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? list(path.join(d, e.name)) : e.name.endsWith(".js") && files.push(path.join(d, e.name))));
  list(dir);
  return files.filter((f) => CLASSIC_SIGNATURE.test(fs.readFileSync(f, "utf8"))).map((f) => path.relative(path.join(root, ".next"), f));
}

/** the message for a build that carries classic; null when it does not */
export function checkBuild(root) {
  const chunks = classicChunks(root);
  if (chunks.length === 0) return null;
  const importers = classicImporters(root);
  const who = importers.length
    ? importers.map((i) => `${i.file} (import "${i.spec}"; reached from ${i.chain.join(" -> ")})`).join(", ")
    : "(no client-reachable source imports it: a dependency does, or a server module ended up in a client bundle)";
  return `web UI: zod classic is in the browser bundles (${chunks.join(", ")}), imported by ${who}: use zod/mini (import * as z from "zod/mini") in what client components import`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const problem = checkBuild(root);
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
  console.error("web UI: no zod classic in .next/static");
}
