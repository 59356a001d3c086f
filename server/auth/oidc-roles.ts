/**
 * OIDC sign-in (issue 15): which role a user of the identity provider gets, from the values of one claim
 * (groups by default). Pure: parsed once at start (server/config.ts checks KAM_OIDC_ROLE_MAP with it) and
 * evaluated at every OIDC sign-in (server/auth/oidc.ts), so a changed mapping or changed groups apply at
 * the user's next sign-in.
 *
 * KAM_OIDC_ROLE_MAP: entries `role=value` separated by commas, e.g. `admin=ops-admins,operator=ops,viewer=*`;
 * a role may appear in several entries (any of its values grants it); `*` is any user the provider signs in.
 * Values that contain commas (LDAP DNs) are written with `;` between the entries instead: when the text has a
 * `;`, only `;` separates. The user gets the highest role any of their values grants; none: refused.
 */
import { ROLES, isRole, type Role } from "./roles";

export interface RoleMapEntry {
  role: Role;
  /** a claim value, matched exactly (case-sensitive), or "*" for everyone */
  value: string;
}

export type RoleMap = readonly RoleMapEntry[];

export class RoleMapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RoleMapError";
  }
}

/** the entries of a KAM_OIDC_ROLE_MAP text, or a RoleMapError saying which entry is wrong */
export function parseRoleMap(text: string): RoleMap {
  const sep = text.includes(";") ? ";" : ",";
  const entries: RoleMapEntry[] = [];
  for (const raw of text.split(sep)) {
    const part = raw.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) throw new RoleMapError(`"${part}" is not role=value (e.g. admin=ops-admins)`);
    const role = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!isRole(role)) throw new RoleMapError(`"${role}" in "${part}" is not a role (${ROLES.join(", ")})`);
    if (value === "") throw new RoleMapError(`"${part}" names no group or claim value`);
    entries.push({ role, value });
  }
  if (entries.length === 0) throw new RoleMapError("names no role: give at least one role=value (e.g. viewer=*)");
  return entries;
}

/** the highest role the claim values grant, or null when none does */
export function roleFor(map: RoleMap, values: readonly string[]): Role | null {
  const have = new Set(values);
  let best = -1;
  for (const e of map) {
    if (e.value === "*" || have.has(e.value)) best = Math.max(best, ROLES.indexOf(e.role));
  }
  return best < 0 ? null : ROLES[best];
}

/**
 * The values of the claim at `path` (dots go down into objects: `realm_access.roles`): an array's strings,
 * or a string as one value (never split). Anything else, or no such claim: no values.
 */
export function claimValues(claims: Record<string, unknown>, path: string): string[] {
  let v: unknown = claims;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return [];
    v = (v as Record<string, unknown>)[key];
  }
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return [];
}
