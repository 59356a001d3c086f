/**
 * Scenario 9: the agents die (SIGKILL) in the middle of a failover and come
 * back. One host logs to journald (the agent resumes after its saved journal
 * cursor), the other to a file (the agent resumes at its saved inode and
 * offset). Everything keepalived logged meanwhile must reach the server:
 * nothing lost, nothing stored twice, and the missed transitions shown.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Lab } from "./lab/lab";
import { assertExactlyOnce, statesLogged, sourceLines, waitAllStored } from "./lab/checks";
import { e2eSuite } from "./lab/suite";
import { sleep, waitFor } from "../helpers/wait";
import { stateMap } from "./lab/stack";
import { secondsSince } from "./lab/timing";

const suite = e2eSuite(import.meta.url, { journald: true });

describe("agent restart on real keepalived", () => {
  it("9. delivers the transitions missed while the agents were down from the journal cursor and the file offset, exactly once", { timeout: 180_000 }, async () => {
    const { stack, journal, timings } = suite();
    const lab = await Lab.create(stack, "s9-agent", [
      { name: "lb1", octet: 11, priority: 150, source: "journal" },
      { name: "lb2", octet: 12, priority: 100, source: "file" },
    ], journal!);
    await lab.waitStates({ lb1: "MASTER+vip", lb2: "BACKUP" });
    await waitAllStored(stack, lab, journal, 20_000);
    const lb1 = lab.host("lb1");

    const rounds: { what: string; fault: () => void; want: Record<string, string>; holder: string }[] = [
      { what: "failover", fault: () => lb1.ka.setHealthy(false), want: { lb1: "BACKUP", lb2: "MASTER+vip" }, holder: "lb2" },
      { what: "preemption back", fault: () => lb1.ka.setHealthy(true), want: { lb1: "MASTER+vip", lb2: "BACKUP" }, holder: "lb1" },
    ];
    for (const r of rounds) {
      const before = [...lab.hosts.values()].map((h) => statesLogged(sourceLines(h, journal)).length);
      r.fault();
      await sleep(1500); // the check has failed/recovered; the takeover is under way
      for (const h of lab.hosts.values()) await h.agent.kill("SIGKILL");
      // keepalived finishes the transition while nobody watches
      await waitFor(`${r.holder} alone holding the VIP`, () => lab.vipHolders().join() === r.holder, 15_000);
      await waitFor("both nodes logged their transition", () =>
        [...lab.hosts.values()].every((h, i) => statesLogged(sourceLines(h, journal)).length > before[i]), 10_000);
      await sleep(1000);
      const t = Date.now();
      for (const h of lab.hosts.values()) h.agent.start();
      const seen = await stack.waitSummary(`${JSON.stringify(r.want)} after the agents restart`, lab.cluster,
        (c) => Object.entries(r.want).every(([n, s]) => stateMap(c)[n] === s), t, 30_000);
      const stored = await waitAllStored(stack, lab, journal, 30_000);
      timings.add({ scenario: `9 agents SIGKILLed during ${r.what}`, expected: `missed transitions delivered once: ${JSON.stringify(r.want)}`,
        got: JSON.stringify(stateMap(seen.msg)), seconds: secondsSince(t, Math.max(seen.at, stored)) });
    }

    await sleep(1500); // a late duplicate would show up by now
    const { lines, states } = await assertExactlyOnce(stack, lab, journal);
    // lb1: BACKUP (init), MASTER, BACKUP, MASTER; lb2: BACKUP (init), MASTER, BACKUP
    assert.equal(states, 7, "both rounds' transitions are in the timeline");
    assert.ok(lines > 40);
    const sources = await stack.storedLines(lab.cluster, "lb1");
    assert.ok(sources.every((s) => s.source === "journal" && s.cursor), "lb1's lines came from the journal");
    assert.ok((await stack.storedLines(lab.cluster, "lb2")).every((s) => s.source === "file" && s.offset !== null), "lb2's lines came from its file");
    const split = (await stack.incidentsOf(lab.cluster)).filter((i) => i.kind === "DUAL_MASTER");
    assert.deepEqual(split.map((i) => i.cause.summary), [], "a replayed backlog is no split brain");
    await lab.destroy();
  });
});
