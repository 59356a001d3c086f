/**
 * The frame of an e2e test file: checks the machine (failing every test with
 * the reason when the lab cannot run), removes what a killed earlier run left
 * behind, starts the server on the chosen database and the lab journal when
 * asked, and tears everything down afterwards, also when a test failed. It
 * prints the file's timing table at the end.
 */
import { after, before } from "node:test";
import path from "node:path";
import type { TestServerOptions } from "../../helpers/server";
import { startLabJournal, type LabJournal } from "./journal";
import { chooseDatabase, labProblems, type Needs } from "./preflight";
import { markOwnership, sweepStale, teardownAll } from "./reaper";
import { Stack } from "./stack";
import { Timings } from "./timing";

export interface Suite {
  stack: Stack;
  journal: LabJournal | null;
  timings: Timings;
}

export interface SuiteOptions extends Needs {
  /** start the server on this database instead of the chosen one (returns the options) */
  server?: () => Promise<TestServerOptions>;
}

/** call at the top level of a test file; use the returned getter inside tests */
export function e2eSuite(fileUrl: string, opts: SuiteOptions = {}): () => Suite {
  const file = path.basename(new URL(fileUrl).pathname);
  const timings = new Timings(file);
  let suite: Suite | null = null;
  let problem: Error | null = null;

  before(async () => {
    try {
      const p = labProblems(opts);
      if (p) throw new Error(`the e2e lab cannot run on this machine:\n${p}`);
      const removed = sweepStale();
      if (removed.length) console.log(`removed what a killed earlier run left behind: ${removed.join(", ")}`);
      markOwnership();
      let serverOpts: TestServerOptions = {};
      if (opts.server) serverOpts = await opts.server();
      else console.log(`e2e database: ${chooseDatabase().note}`);
      const journal = opts.journald ? await startLabJournal() : null;
      const stack = await Stack.start(serverOpts);
      suite = { stack, journal, timings };
    } catch (e) {
      problem = e as Error;
      throw e;
    }
  });

  after(async () => {
    try {
      await suite?.stack.close().catch(() => undefined);
      await suite?.journal?.stop().catch(() => undefined);
    } finally {
      teardownAll();
      timings.print();
    }
  });

  return () => {
    if (problem) throw problem;
    if (!suite) throw new Error("the e2e suite did not start");
    return suite;
  };
}

