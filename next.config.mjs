import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));

/**
 * Next runs inside our custom Node server (server/main.ts), so no `output: "standalone"`.
 * JavaScript, not next.config.ts: the compiled server loads it at every start, and nothing transpiles
 * TypeScript at run time in production (issue 14).
 * The browser bundles carry zod/mini, never zod classic (`npm run build` checks the output: scripts/client-zod.mjs);
 * page server components import server modules, which stay on the server.
 */
/** @type {import("next").NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  turbopack: { root },
  typescript: {
    ignoreBuildErrors: false,
    // Type-check only what the Next bundles contain (app/, components/, server/protocol.ts).
    // The server, agent and tests are checked by `npm run typecheck`.
    tsconfigPath: "tsconfig.next.json",
  },
  // Page server components import server modules (incidents, setup): keep native/heavy packages external.
  serverExternalPackages: [
    "@prisma/client",
    "@prisma/adapter-pg",
    "pg",
    "pino",
    "@electric-sql/pglite",
    "@electric-sql/pglite-socket",
    "socket.io",
  ],
  // Tests and users open the dev server through 127.0.0.1 as well as localhost.
  allowedDevOrigins: ["127.0.0.1", "localhost"],
};

export default nextConfig;
