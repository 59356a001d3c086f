/**
 * Runs one planned action on a truth-lab cluster and records what was done
 * (ActionRecord: when, on which host and router, what it expects). Targets
 * are resolved at run time from the oracle sampler's view ("the MASTER" = the
 * host holding the router's first VIP now).
 */
import type { Stack } from "../e2e/lab/stack";
import { run } from "../e2e/lab/net";
import { expectationsOf, originsOf, type Planned } from "./actions";
import type { TruthCluster } from "./cluster";
import type { ActionRecord } from "./oracle";
import { hostAddress } from "./topology";
import { sleep } from "../helpers/wait";


function resolveHost(c: TruthCluster, p: Planned, want?: (h: string) => boolean): string {
  const names = c.topo.hosts.map((h) => h.name).filter((h) => (want ? want(h) : true));
  const all = names.length ? names : c.topo.hosts.map((h) => h.name);
  const holders = c.holders(p.vrid).filter((h) => all.includes(h));
  const runningHosts = all.filter((h) => c.host(h).ka.running);
  if (p.role === "master") return holders[0] ?? runningHosts[0] ?? all[0];
  const backups = runningHosts.filter((h) => !holders.includes(h));
  const pool = backups.length ? backups : all.filter((h) => !holders.includes(h));
  const list = pool.length ? pool : all;
  return list[p.pickIndex % list.length];
}

export async function execute(c: TruthCluster, stack: Stack, p: Planned, id: number, log: (s: string) => void): Promise<ActionRecord> {
  const t = c.topo;
  const router = t.routers.find((r) => r.vrid === p.vrid)!;
  let host: string | null;
  if (p.kind === "script_fail" || p.kind === "script_toggle") host = resolveHost(c, p, (h) => t.members[h][p.vrid].scriptWeight !== null);
  else if (p.kind === "server_restart") host = null;
  else host = resolveHost(c, p);
  const m = host ? t.members[host][p.vrid] : null;
  // one definition of what eth1 going down hits (originsOf), for the expectation and for the oracle
  const tracksEth1 = host !== null && originsOf("eth1_down", t, host, p.vrid).length > 0;
  const { expect, dontCare } = expectationsOf(p.kind, { scriptWeight: m?.scriptWeight ?? null, tracksEth1 });
  const rec: ActionRecord = { id, kind: p.kind, host, vrid: p.vrid, at: Date.now(), until: 0, expect, dontCare, benign: false, note: undefined, origins: originsOf(p.kind, t, host, p.vrid) };
  log(`action ${id} ${p.kind} vrid ${p.vrid}${host ? ` on ${host}` : ""}${p.holdMs ? ` (hold ${(p.holdMs / 1000).toFixed(1)} s)` : ""}`);
  c.obs.actions.push(rec);
  const h = host ? c.host(host) : null;
  const restartWith = async (change: () => void) => {
    change();
    await c.stopKa(host!);
    c.writeConfig(host!);
    c.startKa(host!);
  };
  try {
    switch (p.kind) {
      case "kill_master":
      case "kill_backup":
        await c.killKa(host!);
        await sleep(p.holdMs);
        c.startKa(host!);
        break;
      case "block_in":
        c.net.blockVrrp(host!);
        await sleep(p.holdMs);
        c.net.unblockVrrp(host!);
        break;
      case "block_out":
        c.net.blockVrrp(host!, "out");
        await sleep(p.holdMs);
        c.net.unblockVrrp(host!);
        break;
      case "block_both": {
        const other = resolveHost(c, { ...p, role: "backup" }, (x) => x !== host);
        rec.note = `also on ${other}`;
        c.net.blockVrrp(host!);
        if (other !== host) c.net.blockVrrp(other);
        await sleep(p.holdMs);
        c.net.unblockVrrp(host!);
        if (other !== host) c.net.unblockVrrp(other);
        break;
      }
      case "cut":
        c.net.cut(host!);
        await sleep(p.holdMs);
        c.net.heal(host!);
        break;
      case "link_down":
        c.net.linkDown(host!);
        await sleep(p.holdMs);
        c.net.linkUp(host!);
        break;
      case "eth1_down":
        run("ip", ["-n", h!.net.ns, "link", "set", "eth1", "down"]);
        await sleep(p.holdMs);
        run("ip", ["-n", h!.net.ns, "link", "set", "eth1", "up"]);
        break;
      case "script_fail":
        c.setHealthy(host!, p.vrid, false);
        await sleep(p.holdMs);
        c.setHealthy(host!, p.vrid, true);
        break;
      case "script_toggle": {
        const period = Math.max(4000, 3000 * router.advertInt);
        for (let i = 0; i < 4; i++) {
          c.setHealthy(host!, p.vrid, false);
          await sleep(period);
          c.setHealthy(host!, p.vrid, true);
          await sleep(period);
        }
        break;
      }
      case "auth_mismatch":
      case "advert_mismatch":
      case "vip_mismatch":
      case "unicast_mismatch":
      case "vrid_mismatch": {
        const master = c.holders(p.vrid)[0];
        await restartWith(() => {
          if (p.kind === "auth_mismatch") m!.authPass = router.authPass === null ? "other-pw" : `zz${router.authPass}`;
          if (p.kind === "advert_mismatch") m!.advertInt = router.advertInt === 1 ? 2 : 1;
          if (p.kind === "vip_mismatch") m!.vips = [...router.vips, `198.18.0.${200 + (p.vrid % 50)}`];
          if (p.kind === "vrid_mismatch") {
            const used = new Set(t.routers.map((x) => x.vrid));
            let w = (p.vrid % 250) + 1;
            while (used.has(w)) w = (w % 250) + 1;
            m!.vrid = w;
            rec.note = `VRID ${w} instead of ${p.vrid}`;
          }
          if (p.kind === "unicast_mismatch") {
            const drop = master && master !== host ? hostAddress(t.hosts.find((x) => x.name === master)!) : null;
            m!.peers = t.hosts.filter((x) => x.name !== host).map(hostAddress).filter((a) => a !== drop);
            rec.note = `without ${master ?? "?"}`;
          }
        });
        await sleep(p.holdMs);
        await restartWith(() => {
          delete m!.authPass;
          delete m!.advertInt;
          delete m!.vips;
          delete m!.peers;
          delete m!.vrid;
        });
        break;
      }
      case "planned_failover":
        await c.stopKa(host!);
        await sleep(p.holdMs);
        c.startKa(host!);
        break;
      case "rename":
        m!.instance = m!.instance.endsWith("_RN") ? m!.instance.slice(0, -3) : `${m!.instance}_RN`;
        c.writeConfig(host!);
        if (h!.ka.running) c.reloadKa(host!);
        break;
      case "priority_change":
        m!.priority -= 5;
        c.writeConfig(host!);
        if (h!.ka.running) c.reloadKa(host!);
        break;
      case "reload":
        if (h!.ka.running) c.reloadKa(host!);
        break;
      case "vip_delete":
        if ((c.sampler.addrs.get(host!) ?? []).includes(router.vips[0])) run("ip", ["-n", h!.net.ns, "addr", "del", `${router.vips[0]}/24`, "dev", "eth0"]);
        else rec.note = "VIP not held: nothing deleted";
        break;
      case "agent_restart":
        await c.killAgent(host!);
        await sleep(p.holdMs);
        c.startAgent(host!);
        break;
      case "agent_down":
        await c.killAgent(host!);
        await sleep(p.holdMs);
        c.startAgent(host!);
        break;
      case "server_restart":
        await stack.srv.restart();
        break;
      case "server_outage": {
        // a failover and its preemption the server learns only from the agents' backlogs, which arrive node by
        // node as each agent's retry finds the server again (session 34: cross-node conditions over backlogs)
        const t0 = Date.now();
        await stack.srv.kill("SIGKILL");
        await sleep(2000);
        await c.stopKa(host!);
        await sleep(6000);
        c.startKa(host!);
        await sleep(Math.max(0, p.holdMs - (Date.now() - t0)));
        await stack.srv.restart();
        break;
      }
    }
  } catch (e) {
    rec.note = `${rec.note ? `${rec.note}; ` : ""}failed: ${(e as Error).message.split("\n")[0]}`;
    c.obs.errors.push(`action ${id} ${p.kind}: ${(e as Error).message}`);
    log(`action ${id} ${p.kind} FAILED: ${(e as Error).message.split("\n")[0]}`);
  }
  rec.until = Date.now();
  rec.benign = Object.keys(rec.expect).length === 0;
  return rec;
}
