/**
 * Per-cluster detector settings (issue 15): read and change them. The one implementation behind
 * `npm run admin -- settings show|set` and GET/POST /api/clusters/:name/settings. Stored in
 * cluster.settings (only what differs from the defaults); the running detection picks a change up within
 * SETTINGS_POLL_MS (DetectionHost.refreshSettings: the cluster's engine is rebuilt from storage with them,
 * as when a replica takes a cluster over), on every replica, whoever made the change.
 */
import { z } from "zod";
import type { Db } from "../db/database";
import type { ClusterScope } from "../auth/scope";
import { DEFAULT_SETTINGS, type DetectorSettings } from "../detect/types";
import { resolveSettings } from "../detect/engine";
import { settingsOf } from "./detection-host";

/** how often the detection host compares each cluster's stored settings with those its engine runs */
export const SETTINGS_POLL_MS = 5000;

export class SettingsInputError extends Error {
  constructor(
    readonly code: "invalid_message" | "not_found",
    message: string,
  ) {
    super(message);
    this.name = "SettingsInputError";
  }
}

const ms = (max: number) => z.number().min(0).max(max);
const DAY = 86_400_000;

/**
 * A change of settings: each key a value, or null for its default again. Times in milliseconds; graceMs and
 * noMasterGraceMs null (their default) derive from the VRID's advert_int.
 */
export const SettingsPatch = z.strictObject({
  graceMs: ms(3_600_000).nullable().optional(),
  graceAdverts: z.number().min(0.1).max(100).nullable().optional(),
  noMasterGraceMs: ms(3_600_000).nullable().optional(),
  flapCount: z.number().int().min(2).max(1000).nullable().optional(),
  flapWindowMs: ms(DAY).nullable().optional(),
  flapQuietMs: ms(DAY).nullable().optional(),
  offlineMs: z.number().min(1000).max(DAY).nullable().optional(),
  holdDownMs: ms(DAY).nullable().optional(),
  futureSkewMs: ms(DAY).nullable().optional(),
  deliveryAllowanceMs: ms(3_600_000).nullable().optional(),
});
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export interface ClusterSettings {
  cluster: string;
  /** what is set for this cluster (the rest is default) */
  settings: Partial<DetectorSettings>;
  /** what detection runs with: the defaults, the server's own (--agent-offline-seconds), then the cluster's */
  effective: DetectorSettings;
}

const view = (name: string, stored: unknown, serverDefaults: Partial<DetectorSettings>): ClusterSettings => {
  const settings = settingsOf(stored);
  return { cluster: name, settings, effective: resolveSettings({ ...serverDefaults, ...settings }) };
};

/** the cluster's settings, or null when there is no such cluster in the scope */
export async function clusterSettings(db: Db, name: string, scope: ClusterScope, serverDefaults: Partial<DetectorSettings> = {}): Promise<ClusterSettings | null> {
  const c = await db.cluster.findFirst({ where: { AND: [{ name }, scope.onCluster()] } });
  return c ? view(c.name, c.settings, serverDefaults) : null;
}

/** applies `patch` (null: back to the default) to the cluster's stored settings; a bad value is a SettingsInputError */
export async function setClusterSettings(db: Db, name: string, patch: unknown, scope: ClusterScope, serverDefaults: Partial<DetectorSettings> = {}): Promise<ClusterSettings> {
  const p = SettingsPatch.safeParse(patch);
  if (!p.success) throw new SettingsInputError("invalid_message", p.error.issues.map((i) => `${i.path.join(".") || "settings"}: ${i.message}`).join("; "));
  const c = await db.cluster.findFirst({ where: { AND: [{ name }, scope.onCluster()] } });
  if (!c) throw new SettingsInputError("not_found", `no cluster "${name}"`);
  const next: Record<string, number> = { ...(settingsOf(c.settings) as Record<string, number>) };
  for (const [k, v] of Object.entries(p.data)) {
    if (v === undefined) continue;
    if (v === null) delete next[k];
    else next[k] = v;
  }
  const row = await db.cluster.update({ where: { id: c.id }, data: { settings: next } });
  return view(row.name, row.settings, serverDefaults);
}

/** the keys, for the CLI's KEY=VALUE arguments */
export const SETTING_KEYS: string[] = Object.keys(DEFAULT_SETTINGS);
