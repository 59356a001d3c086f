/**
 * What `npm run admin -- webhook add --format email` reads beyond the flags: the CA file named by
 * --smtp-ca-file. The checks of the channel (addresses, URL, secret) are the channel module's
 * (server/incidents/channel-admin.ts), the same for the CLI and the API.
 */
import fs from "node:fs";
import { UsageError, type Args } from "./args";
import type { EmailInput } from "../incidents/channel-admin";

/** the email settings of `webhook add` (recipients, sender, user, CA certificates read from --smtp-ca-file) */
export function emailSettings(a: Args): EmailInput {
  const to = a.need("to").split(",").map((s) => s.trim()).filter(Boolean);
  const caFile = a.string("smtp-ca-file");
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = fs.readFileSync(caFile, "utf8");
    } catch (e) {
      throw new UsageError(`--smtp-ca-file: cannot read ${caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const user = a.string("smtp-user");
  return { to, from: a.need("from"), ...(user ? { user } : {}), ...(ca !== undefined ? { ca } : {}) };
}
