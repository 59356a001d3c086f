// Prisma CLI configuration. Prisma's native schema engine cannot be downloaded
// here, so migrate commands run the bundled JS/WASM engine through the pg
// driver adapter (see ARCHITECTURE.md, "Storage").
import type { PrismaConfig } from "prisma";
import { PrismaPg } from "@prisma/adapter-pg";

export default {
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  async adapter() {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) {
      throw new Error("DATABASE_URL is not set: prisma migrate needs the database to apply migrations to");
    }
    // A short idle timeout lets the CLI exit as soon as it is done (the pool would
    // otherwise keep it alive for 10 s).
    return new PrismaPg({ connectionString, idleTimeoutMillis: 50, allowExitOnIdle: true });
  },
} satisfies PrismaConfig;
