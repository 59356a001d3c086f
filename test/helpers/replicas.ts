/**
 * Server replicas for the multi-replica tests (issue 13): N real server
 * processes sharing ONE test database (PostgreSQL), each with its own data
 * directory, and a webhook receiver on loopback that records what it gets.
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { startTestServer, type TestServer } from "./server";
import { createTestDb, type TestDb } from "./db";

/**
 * A teardown that runs every step even when one fails, then throws one AggregateError naming each failure
 * (done()): nothing is left running because an earlier step threw, and no failure goes unreported.
 */
export function teardown() {
  const errors: Error[] = [];
  return {
    async step(what: string, fn: () => unknown) {
      try {
        await fn();
      } catch (e) {
        errors.push(new Error(`teardown of ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      }
    },
    done() {
      if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join("; "));
    },
  };
}

export interface Replicas {
  db: TestDb;
  servers: TestServer[];
  /** stops every replica, drops the database, removes the data directories; every failure is reported */
  close(): Promise<void>;
}

export async function startReplicas(n: number, env: Record<string, string> = {}): Promise<Replicas> {
  const db = await createTestDb();
  const servers: TestServer[] = [];
  const dirs: string[] = [];
  const close = async () => {
    const t = teardown();
    for (const s of servers) await t.step(`replica ${s.url}`, () => s.close());
    await t.step("the database", () => db.drop());
    for (const d of dirs) await t.step(`directory ${d}`, () => fs.rmSync(d, { recursive: true, force: true }));
    t.done();
  };
  try {
    for (let i = 0; i < n; i++) {
      // each replica its own data directory: they share only the database
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-replica-"));
      dirs.push(dataDir);
      servers.push(await startTestServer({ db: { ...db, dataDir, drop: async () => undefined }, env }));
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { db, servers, close };
}

export interface WebhookReceiver<T> {
  url: string;
  /** the JSON bodies received, in order */
  received: T[];
  close(): Promise<void>;
}

/** an HTTP receiver on 127.0.0.1 that answers 200 and keeps every JSON body it gets */
export async function startWebhookReceiver<T = unknown>(): Promise<WebhookReceiver<T>> {
  const received: T[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push(JSON.parse(body) as T);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    received,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
