// Shared by the bin/ commands: loads a compiled file from dist/ (written by `npm run build`), or says how to
// build it and exits 1 when it is missing.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export async function loadBuilt(command, file) {
  const url = new URL(`../dist/${file}`, import.meta.url);
  if (!fs.existsSync(fileURLToPath(url))) {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
    console.error(`${command}: ${path.join(root, "dist", file)} is missing: run \`npm run build\` (or \`npm start\`, which builds) in ${root}`);
    process.exit(1);
  }
  return import(url.href);
}
