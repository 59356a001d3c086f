/**
 * A socket.io client that speaks the agent protocol directly, for tests that
 * need exact control over what a node reports and when (the real agent is
 * used by the pipeline tests). It numbers records and heartbeats like an agent.
 */
import { randomUUID } from "node:crypto";
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { PROTOCOL_VERSION, SOCKET_PATHS, type AgentRecord, type BatchAck, type ConfigInstance } from "../../server/protocol";

export interface FakeAgent {
  node: string;
  socket: Socket;
  /** send records (seq assigned here) and wait for the ack */
  send(records: DistributiveOmit<AgentRecord, "seq">[]): Promise<BatchAck>;
  /** console-format log lines stamped with the current time */
  log(...messages: string[]): Promise<BatchAck>;
  close(): void;
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (n: number) => String(n).padStart(2, "0");
export const consoleStamp = (d: Date) =>
  `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`;

export function instance(over: Partial<ConfigInstance> & { name: string; vrid: number }): ConfigInstance {
  return {
    interface: "eth0", state: "BACKUP", priority: 100, advertInt: 1, authType: "PASS", authPassHash: "a".repeat(64),
    vips: ["198.18.0.100/24"], trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false,
    vrrpVersion: 2, syncGroup: null, ...over,
  };
}

/**
 * The socket.io options of an agent's connection as agent/client.ts makes them: the agent path with the
 * token in the Authorization header; `legacy`: the default path without it, as agents from before the
 * agent path connect (issue 19).
 */
export function agentSocketOptions(token: string, opts: { legacy?: boolean } = {}): Partial<ManagerOptions & SocketOptions> {
  return opts.legacy
    ? { transports: ["websocket"] }
    : { path: SOCKET_PATHS.agent, extraHeaders: { authorization: `Bearer ${token}` }, transports: ["websocket"] };
}

/** `version`: what the agent announces in its handshake; `legacy`: connect as an agent from before the agent path */
export async function connectFakeAgent(url: string, token: string, node: string, heartbeatMs = 1000, version = "fake", opts: { legacy?: boolean } = {}): Promise<FakeAgent> {
  const socket = io(`${url}/agent`, {
    ...agentSocketOptions(token, opts),
    auth: { protocol: PROTOCOL_VERSION, token, agentId: randomUUID(), node, hostname: node, version },
    reconnection: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (e) => {
      socket.close();
      reject(e);
    });
  });
  let seq = 0;
  const hb = setInterval(() => socket.emit("heartbeat", { ts: Date.now(), outbox: 0, sources: {} }, () => {}), heartbeatMs);
  const fa: FakeAgent = {
    node,
    socket,
    async send(records) {
      const withSeq = records.map((r) => ({ ...r, seq: ++seq }));
      return (await socket.timeout(10_000).emitWithAck("batch", { records: withSeq })) as BatchAck;
    },
    log(...messages) {
      const now = new Date();
      return fa.send(messages.map((m) => ({ kind: "log" as const, ts: now.getTime(), source: "file" as const, line: `${consoleStamp(now)}: ${m}`, inode: "1", offset: 0 })));
    },
    close() {
      clearInterval(hb);
      socket.close();
    },
  };
  return fa;
}

/**
 * Nodes a (priority 150) and b (100) of a cluster: each agent sends a config with one
 * instance VI_1 (VRID 51) and logs entering BACKUP. Returns [a, b].
 */
export async function backupPair(url: string, token: string): Promise<[FakeAgent, FakeAgent]> {
  const pair: FakeAgent[] = [];
  for (const [node, prio] of [["a", 150], ["b", 100]] as const) {
    const fa = await connectFakeAgent(url, token, node);
    pair.push(fa);
    await fa.send([{ kind: "config", ts: Date.now(), path: "/etc/keepalived/keepalived.conf", hash: "1".repeat(64), routerId: node,
      netNamespace: null, errors: [], instances: [instance({ name: "VI_1", vrid: 51, priority: prio })] }]);
    await fa.log("(VI_1) Entering BACKUP STATE (init)");
  }
  return pair as [FakeAgent, FakeAgent];
}
