import { z } from "zod";
import { DOWNLOAD_NAMES, DownloadMissing, Downloads, SUMS_NAME, type Download } from "../../downloads";
import { VERSION } from "../../metrics";
import { ROOT } from "../../paths";
import { HttpError } from "../respond";
import { defineRoute } from "../route";

const downloads = new Downloads(ROOT, VERSION);
const FILES = [...DOWNLOAD_NAMES, SUMS_NAME];

/**
 * GET /downloads/:file: what a node being installed fetches (issue 14): the agent bundle, its .deb, the unit,
 * the install script and SHA256SUMS (server/downloads.ts). Public: none of it is secret (the enrolment code
 * is the credential, and it is never part of these URLs). Each answer carries its SHA-256 (Repr-Digest).
 */
export default defineRoute({
  method: "GET", path: "/downloads/:file", access: "public", produces: "application/octet-stream",
  summary: `the agent's install files: ${FILES.join(", ")} (a file this server does not have: 404 not_found saying how to make it)`,
  request: { params: z.object({ file: z.string().max(64) }) },
  response: z.string(),
  async handle(ctx) {
    const name = ctx.params.file;
    if (!FILES.includes(name)) throw new HttpError(404, "not_found", `no download ${name}: there are ${FILES.join(", ")}`);
    let d: Download;
    try {
      d = name === SUMS_NAME ? await downloads.sums() : await downloads.get(name);
    } catch (e) {
      if (e instanceof DownloadMissing) throw new HttpError(404, "not_found", e.message);
      throw e;
    }
    return {
      raw: d.bytes, contentType: d.contentType,
      headers: { "repr-digest": `sha-256=:${Buffer.from(d.sha256, "hex").toString("base64")}:`, "content-disposition": `attachment; filename="${d.name}"` },
    };
  },
});
