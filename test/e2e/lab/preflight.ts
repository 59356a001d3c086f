/**
 * What the lab needs from the machine, checked before anything is created.
 * The e2e suite never skips: when something is missing every test fails with
 * a message saying what and how to get it (a suite that passes without having
 * run keepalived would prove nothing).
 */
import fs from "node:fs";
import { canUseNetns } from "../../helpers/netns";
import { AGENT_BUNDLE } from "../../helpers/agent";
import { hasBinary } from "../../helpers/bin";

export interface Needs {
  /** nft for the packet-filter scenario */
  nft?: boolean;
  /** a private systemd-journald (journal source hosts) */
  journald?: boolean;
  /** PostgreSQL server binaries for a private cluster */
  postgres?: boolean;
}

/** null when the lab can run, else every problem found */
export function labProblems(needs: Needs = {}): string | null {
  const problems: string[] = [];
  const netns = canUseNetns();
  if (netns) problems.push(`cannot create network namespaces: ${netns} (the e2e suite runs keepalived in namespaces; run it as root on a kernel that allows them)`);
  if (!hasBinary("keepalived")) problems.push("keepalived is not installed: apt-get install -y keepalived");
  if (!hasBinary("unshare") || !hasBinary("mount")) problems.push("util-linux unshare/mount are missing: apt-get install -y util-linux mount");
  if (needs.nft && !hasBinary("nft")) problems.push("nft is not installed: apt-get install -y nftables");
  if (needs.journald) {
    if (!["/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"].some((p) => fs.existsSync(p)) || !hasBinary("journalctl")) {
      problems.push("systemd-journald/journalctl are missing: apt-get install -y systemd");
    }
    if (!hasBinary("logger")) problems.push("logger is missing: apt-get install -y bsdutils");
  }
  if (needs.postgres && !pgBinDir()) problems.push("PostgreSQL server binaries (initdb, pg_ctl) are missing: apt-get install -y postgresql");
  if (!fs.existsSync(AGENT_BUNDLE)) problems.push(`${AGENT_BUNDLE} is missing: run node agent/build.mjs (npm run test:e2e builds it)`);
  return problems.length ? problems.join("\n") : null;
}

/** /usr/lib/postgresql/<newest>/bin, or null */
export function pgBinDir(): string | null {
  try {
    const vs = fs.readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
    for (const v of vs) if (fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)) return `/usr/lib/postgresql/${v}/bin`;
  } catch {
    /* not installed */
  }
  return null;
}

/**
 * The server's database for the labs: a fresh database on TEST_DATABASE_URL's
 * PostgreSQL when it is set (CI sets it); under CI=true without it, an error;
 * elsewhere the embedded PGlite, said so in the output.
 */
export function chooseDatabase(): { kind: "postgres" | "pglite"; note: string } {
  if (process.env.TEST_DATABASE_URL) {
    process.env.KAM_TEST_DB = "postgres";
    return { kind: "postgres", note: `real PostgreSQL from TEST_DATABASE_URL (a fresh database per server)` };
  }
  if (process.env.CI === "true") {
    throw new Error("TEST_DATABASE_URL is not set: under CI=true the e2e suite must run on a real PostgreSQL server (.ci/run sets it)");
  }
  process.env.KAM_TEST_DB = "pglite";
  return { kind: "pglite", note: "TEST_DATABASE_URL is not set: using the embedded PGlite instead of a PostgreSQL server" };
}
