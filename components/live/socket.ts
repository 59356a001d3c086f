/**
 * The browser's one /live socket and the one place that owns its lifecycle: connect on first use,
 * auth refusals (a `connect_error` socket.io will not retry), the reconnect after the server closed
 * us ("io server disconnect", which socket.io does not retry by itself), and the subscription,
 * re-sent on every reconnect. The server keeps ONE subscription per socket (a `subscribe` replaces
 * the previous one), so the channel sends the union of what every mounted hook asked for.
 *
 * Hooks (useLive.ts) add a subscriber on mount and remove it on unmount; nothing else listens on
 * the socket. Not React-specific, so it is tested in Node against a real socket.io server.
 */
import { io, type Socket } from "socket.io-client";
import type { LiveClientToServer, LiveServerToClient } from "../../server/protocol";
import { backoffDelay } from "../overview/transforms";
import type { ConnectionEvent } from "./connection";

export type LiveSocket = Socket<LiveServerToClient, LiveClientToServer>;

export interface LiveSubscriber {
  /** cluster names, or ["*"] for every cluster */
  clusters: readonly string[];
  onCluster?: (raw: unknown) => void;
  onIncident?: (raw: unknown) => void;
  /**
   * After the first accepted subscription that covers this subscriber (`first` true) and after each
   * one following a reconnect (`first` false): pushes missed before it are not replayed by the
   * server, so a caller reloads its snapshot then.
   */
  onResync?: (first: boolean) => void;
  /** connection events for connectionReducer */
  onConnection: (ev: ConnectionEvent) => void;
}

interface Entry {
  sub: LiveSubscriber;
  /** covered by an accepted subscription since the last connect */
  synced: boolean;
  everSynced: boolean;
}

/** What the server is asked for: ["*"] if any subscriber wants every cluster, else the sorted union. */
export function subscriptionOf(lists: readonly (readonly string[])[]): string[] {
  const all = new Set<string>();
  for (const l of lists) for (const c of l) all.add(c);
  if (all.has("*")) return ["*"];
  return [...all].sort();
}

interface BrowserEvents {
  addEventListener(type: "online" | "offline", fn: () => void): void;
  removeEventListener(type: "online" | "offline", fn: () => void): void;
}

export class LiveChannel {
  private readonly entries = new Set<Entry>();
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private serverCloses = 0;
  private readonly browser: BrowserEvents | null;

  constructor(
    readonly socket: LiveSocket,
    opts: { browser?: BrowserEvents | null; reconnectDelay?: (attempt: number) => number } = {},
  ) {
    this.browser = opts.browser === undefined ? (typeof window === "undefined" ? null : window) : opts.browser;
    this.reconnectDelay = opts.reconnectDelay ?? ((n) => backoffDelay(n));
    socket.on("connect", this.onConnect);
    socket.on("disconnect", this.onDisconnect);
    socket.on("connect_error", this.onConnectError);
    socket.on("cluster", (raw) => this.each((e) => e.sub.onCluster?.(raw)));
    socket.on("incident", (raw) => this.each((e) => e.sub.onIncident?.(raw)));
  }

  private readonly reconnectDelay: (attempt: number) => number;

  /** Adds a subscriber; the returned function removes it. */
  add(sub: LiveSubscriber): () => void {
    const entry: Entry = { sub, synced: false, everSynced: false };
    this.entries.add(entry);
    if (this.entries.size === 1) {
      this.browser?.addEventListener("offline", this.onOffline);
      this.browser?.addEventListener("online", this.onOnline);
    }
    if (this.socket.connected) {
      sub.onConnection({ type: "connected", at: Date.now() });
      // a new subscriber needs its own acknowledgement (for onResync) even if the union is unchanged
      this.subscribe();
    } else if (!this.socket.active && this.reconnectTimer === undefined) {
      this.socket.connect();
    }
    return () => this.remove(entry);
  }

  private remove(entry: Entry): void {
    if (!this.entries.delete(entry)) return;
    if (this.entries.size === 0) {
      this.browser?.removeEventListener("offline", this.onOffline);
      this.browser?.removeEventListener("online", this.onOnline);
      return; // the server keeps sending what was subscribed; harmless, and the next page reuses it
    }
    const before = subscriptionOf([...this.entries, entry].map((e) => e.sub.clusters));
    if (this.socket.connected && before.join("\n") !== this.wanted().join("\n")) this.subscribe();
  }

  /** The subscription the server should hold now. */
  wanted(): string[] {
    return subscriptionOf([...this.entries].map((e) => e.sub.clusters));
  }

  private each(fn: (e: Entry) => void): void {
    for (const e of [...this.entries]) fn(e);
  }

  private subscribe(): void {
    if (this.entries.size === 0) return;
    const covered = [...this.entries];
    this.socket.emit("subscribe", { clusters: this.wanted() }, (reply) => {
      const still = covered.filter((e) => this.entries.has(e));
      if (!reply.ok) {
        for (const e of still) e.sub.onConnection({ type: "subscribeFailed", message: reply.message, at: Date.now() });
        return;
      }
      for (const e of still) {
        if (e.synced) continue;
        e.synced = true;
        const first = !e.everSynced;
        e.everSynced = true;
        e.sub.onResync?.(first);
      }
    });
  }

  private readonly onConnect = (): void => {
    this.serverCloses = 0;
    this.each((e) => {
      e.synced = false;
      e.sub.onConnection({ type: "connected", at: Date.now() });
    });
    this.subscribe();
  };

  private readonly onDisconnect = (reason: string): void => {
    this.each((e) => {
      e.synced = false;
      e.sub.onConnection({ type: "disconnected", reason, at: Date.now() });
    });
    // The server closed us on purpose (restart, session revoked): socket.io will not retry by itself.
    if (reason === "io server disconnect" && this.reconnectTimer === undefined) {
      const delay = this.reconnectDelay(++this.serverCloses);
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        if (!this.socket.active) this.socket.connect();
      }, delay);
    }
  };

  /** A refused handshake (auth, origin) leaves socket.active false: socket.io will not retry. */
  private readonly onConnectError = (err: Error): void => {
    const willRetry = this.socket.active;
    this.each((e) => e.sub.onConnection({ type: "connectError", message: err.message, willRetry, at: Date.now() }));
  };

  private readonly onOffline = (): void => this.each((e) => e.sub.onConnection({ type: "browserOffline", at: Date.now() }));
  private readonly onOnline = (): void => this.each((e) => e.sub.onConnection({ type: "browserOnline", at: Date.now() }));

  /** Stops the pending reconnect and closes the socket (tests; the browser keeps its channel). */
  close(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.socket.close();
  }
}

let channel: LiveChannel | null = null;

/** The page's one channel on the /live namespace, created on first use. */
export function getLiveChannel(): LiveChannel {
  if (!channel) channel = new LiveChannel(io("/live", { transports: ["websocket"], autoConnect: false }));
  return channel;
}
