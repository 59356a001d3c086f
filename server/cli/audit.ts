/**
 * The admin CLIs' side of the audit log: every command that changes state runs through `audited`
 * (server/audit/log.ts), as the API's routes do, with the operating-system user as its actor.
 */
import os from "node:os";
import { audited, type AuditActor } from "../audit/log";
import type { Db } from "../db/database";
import { EXIT, type Args, type Command } from "./args";

/** a command that only reads: "... list", "... show" */
const readsOnly = (name: string) => /(^| )(list|show)$/.test(name);

/** who runs the CLI: the operating-system user (its uid when it has no name) */
export function cliActor(): AuditActor {
  let name: string;
  try {
    name = os.userInfo().username;
  } catch {
    name = `uid ${process.getuid?.() ?? "?"}`;
  }
  return { kind: "cli", name, ip: null };
}

/**
 * Runs a command on the database; one that changes state is recorded when it succeeded (exit 0; or ran at all,
 * for a command that says evenOnFailure, as `webhook test` does: the API records a refused test too). A command
 * that changes state without saying what to record is a programming error, refused before it runs.
 */
export function runAudited(db: Db, command: Command<Db>, args: Args): Promise<number | void> {
  if (readsOnly(command.name)) return command.run(db, args);
  const spec = command.audit;
  if (!spec) throw new Error(`the command "${command.name}" changes state but declares no audit action`);
  const target = spec.target?.(args) ?? null;
  return audited(
    db, cliActor(),
    { action: spec.action, target, input: target ? undefined : { command: command.name, ...args.given() }, succeeded: (code) => !!spec.evenOnFailure || !code || code === EXIT.ok },
    () => command.run(db, args),
  );
}
