/**
 * The browser gets zod/mini, never zod classic (scripts/client-zod.mjs; the agent's rule, agent/build.mjs).
 *
 * Two guards, because each alone misses something:
 * - the BUILT output is what the browser loads, so `npm run build` (scripts/ensure-build.mjs) scans
 *   .next/static for classic's signature and fails. That is the robust check (whatever path classic takes
 *   in, a dependency included), but it needs a build (about a minute), and production chunks carry no
 *   module paths, so it cannot name the importer by itself.
 * - the IMPORT GRAPH needs no build and names the importer and the chain from the "use client" file: this
 *   test walks it on every unit run. It follows what ships (static, re-exported and dynamic imports,
 *   through server/ too: server/timeline/types.ts is shared), not `import type`.
 * The tests below also pin the built-output signature to the installed zod (classic's modules carry it,
 * zod/mini's, core's and the English locale's do not), so a zod upgrade cannot silently blind the build check.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CLASSIC_SIGNATURE, CLASSIC_SPEC, checkBuild, classicChunks, classicImporters, clientEntries } from "../../scripts/client-zod.mjs";
import { tmpDir } from "../helpers/tmp";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

test("no module a client component reaches imports zod classic", () => {
  const entries = clientEntries(ROOT).map((f) => path.relative(ROOT, f));
  assert.ok(entries.includes("components/auth/UserMenu.tsx") && entries.includes("components/timeline/ClusterTimeline.tsx"), entries.join(", "));
  const found = classicImporters(ROOT);
  assert.deepEqual(found.map((i) => `${i.file} (import "${i.spec}"; from ${i.chain.join(" -> ")})`), []);
});

function write(root: string, files: Record<string, string>) {
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  }
}

test("the walk names a classic import behind helpers, @/ paths and dynamic imports; import type and server-only modules pass", (t) => {
  const root = tmpDir(t, "client-zod-");
  write(root, {
    "components/Panel.tsx": '"use client";\nimport { helper } from "./helper";\nimport type { Row } from "@/server/rows";\nexport const P = helper;\nexport type R = Row;\n',
    "components/helper.ts": 'export { shared } from "@/server/shared";\nexport const helper = () => import("./late");\n',
    "components/late.ts": 'import * as z from "zod/v4";\nexport const L = z.string();\n',
    "server/shared.ts": 'import { z } from "zod";\nexport const shared = z.string();\n',
    "server/rows.ts": 'import { z } from "zod";\nexport type Row = z.infer<typeof R>;\nconst R = z.object({});\n',
    "server/route.ts": 'import { z } from "zod";\nimport { shared } from "./shared";\nexport const X = z.array(shared);\n',
    "components/Fine.tsx": '"use client";\nimport * as z from "zod/mini";\nimport { type Row } from "../server/rows";\nexport const F = z.string();\nexport type R2 = Row;\n',
  });
  const found = classicImporters(root).map((i) => `${i.file} ${i.spec} <- ${i.chain.join(" > ")}`).sort();
  assert.deepEqual(found, [
    "components/late.ts zod/v4 <- components/Panel.tsx > components/helper.ts > components/late.ts",
    "server/shared.ts zod <- components/Panel.tsx > components/helper.ts > server/shared.ts",
  ]);
});

test("classic's import specifiers and built-output signature, against the installed zod", () => {
  for (const s of ["zod", "zod/v4", "zod/v4/classic", "zod/v3"]) assert.match(s, CLASSIC_SPEC);
  for (const s of ["zod/mini", "zod/v4/mini", "zod/v4/core", "zod/v4/locales/en.js", "zodiac"]) assert.doesNotMatch(s, CLASSIC_SPEC);
  const zod = path.join(ROOT, "node_modules/zod");
  const src = (f: string) => fs.readFileSync(path.join(zod, f), "utf8");
  for (const f of ["v4/classic/schemas.js", "v4/classic/errors.js", "v3/types.js"]) assert.match(src(f), CLASSIC_SIGNATURE, f);
  const clean = ["v4/mini", "v4/core", "v4/locales"].flatMap((d) => fs.readdirSync(path.join(zod, d)).filter((f) => f.endsWith(".js") && (d !== "v4/locales" || f === "en.js")).map((f) => `${d}/${f}`));
  assert.ok(clean.length > 10, clean.join(", "));
  for (const f of clean) assert.doesNotMatch(src(f), CLASSIC_SIGNATURE, f);
});

test("the build check names the chunks carrying classic and the modules that import it", (t) => {
  const root = tmpDir(t, "client-zod-build-");
  assert.throws(() => classicChunks(root), /\.next\/static is missing/);
  write(root, {
    ".next/static/chunks/a.js": 'let m=o("ZodMiniObject",(e,t)=>{});let c=o("$ZodType",()=>{});\n',
    ".next/static/chunks/b.js": 'let c=(0,r.$constructor)("ZodType",(e,t)=>{});\n',
    "components/Menu.tsx": '"use client";\nimport { z } from "zod";\nexport const M = z.unknown();\n',
  });
  assert.deepEqual(classicChunks(root), ["static/chunks/b.js"]);
  const msg = checkBuild(root) ?? "";
  assert.match(msg, /static\/chunks\/b\.js/);
  assert.match(msg, /components\/Menu\.tsx \(import "zod"; reached from components\/Menu\.tsx\)/);
  fs.rmSync(path.join(root, ".next/static/chunks/b.js"));
  assert.equal(checkBuild(root), null);
});
