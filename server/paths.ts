import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (where package.json, prisma/ and .next/ are). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
