// The agent's systemd unit as installed on a node: agent/keepalived-agent.service (written for a hand install
// under /opt) with the installed paths: the bundle in /usr/lib/keepalived-agent/ and a required
// /etc/default/keepalived-agent. One transformation for the .deb (scripts/package-agent.mjs) and for the unit
// the server hands to its install script (server/downloads.ts, GET /downloads/keepalived-agent.service).

/** where the .deb and the install script put the bundle */
export const INSTALLED_BUNDLE = "/usr/lib/keepalived-agent/keepalived-agent.cjs";

/**
 * `src` (the text of agent/keepalived-agent.service) from its [Unit] section on, with the installed paths,
 * after `header` (comment lines). Throws when the unit no longer has the lines it replaces.
 */
export function installedUnit(src, header) {
  const body = src.slice(src.indexOf("[Unit]"));
  if (body === src || !body.startsWith("[Unit]")) throw new Error("agent/keepalived-agent.service has no [Unit] section");
  const swaps = [
    ["EnvironmentFile=-/etc/default/keepalived-agent", "EnvironmentFile=/etc/default/keepalived-agent"],
    ["ExecStart=/usr/bin/node /opt/keepalived-agent/keepalived-agent.cjs", `ExecStart=/usr/bin/node ${INSTALLED_BUNDLE}`],
  ];
  let unit = body;
  for (const [from, to] of swaps) {
    if (!unit.includes(from)) throw new Error(`agent/keepalived-agent.service changed: "${from}" not found; update scripts/agent-unit.mjs`);
    unit = unit.replace(from, to);
  }
  return header + "\n" + unit;
}
