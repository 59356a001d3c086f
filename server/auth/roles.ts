/**
 * Roles and what each may do: the one place that decides. viewer reads,
 * operator also acknowledges incidents and manages maintenance windows, admin
 * also manages users, tokens, alert channels and detector settings, and reads the audit log. A wall session is not a role: it is limited
 * to the wall (server/auth/gate.ts).
 */
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export type Action =
  | "read"
  | "incident.ack"
  | "maintenance.write"
  | "admin.users"
  | "admin.tokens"
  | "admin.channels"
  | "admin.settings"
  | "admin.audit";

const MIN_ROLE: Record<Action, Role> = {
  read: "viewer",
  "incident.ack": "operator",
  "maintenance.write": "operator",
  "admin.users": "admin",
  "admin.tokens": "admin",
  "admin.channels": "admin",
  "admin.settings": "admin",
  "admin.audit": "admin",
};

export const isRole = (s: unknown): s is Role => typeof s === "string" && (ROLES as readonly string[]).includes(s);

export function can(role: Role, action: Action): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(MIN_ROLE[action]);
}
