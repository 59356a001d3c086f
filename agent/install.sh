#!/bin/sh
# Installs the keepalived monitor agent on this node from the monitor server (issue 14, "Add a node from the
# dashboard"). The dashboard (Admin, Add a node) shows the one-line command with a one-time enrolment code:
#
#   curl -fsSL https://monitor.example:3000/downloads/install.sh | sh -s -- \
#     --server https://monitor.example:3000 --node lb1 --code kame_...
#
# As root it:
#   1. downloads SHA256SUMS, the agent bundle and its systemd unit from the same server (curl, else wget) and
#      checks each file's SHA-256 against SHA256SUMS: a corrupted or truncated download installs nothing;
#   2. installs ROOT/usr/lib/keepalived-agent/keepalived-agent.cjs and ROOT/etc/systemd/system/keepalived-agent.service,
#      and writes ROOT/etc/default/keepalived-agent (KAM_SERVER, KAM_NODE, KAM_ENROL_CODE; mode 0600);
#   3. with --root / (the default): creates the system user keepalived-agent and, unless --no-start, enables and
#      starts the agent with systemctl. At its first start the agent exchanges the code for its own agent
#      token and keeps it in /var/lib/keepalived-agent/token (0600); the code is then used up.
# POSIX sh. Exit codes: 0 done, 1 failed, 2 usage.

main() {
set -eu

PROG="install.sh"
SERVER="${KAM_SERVER:-}"
CODE="${KAM_ENROL_CODE:-}"
NODE_NAME="${KAM_NODE:-}"
ROOT="/"
START=yes
CA=""

say() { printf '%s: %s\n' "$PROG" "$*"; }
die() {
  code=$1
  shift
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit "$code"
}
usage() {
  cat <<'EOF'
Installs the keepalived monitor agent from the monitor server and enrols this node.

Usage: curl -fsSL SERVER/downloads/install.sh | sh -s -- --server SERVER --node NAME --code CODE [options]
       sh install.sh --server SERVER --node NAME --code CODE [options]

  --server URL   the monitor server (http:// or https://), also where the files come from (env KAM_SERVER)
  --code CODE    the one-time enrolment code from the dashboard, Admin, Add a node (env KAM_ENROL_CODE)
  --node NAME    this node's name in the dashboard: the code's node (env KAM_NODE; default: the hostname)
  --ca FILE      PEM CA certificate that signed the server's certificate (for curl/wget and the agent)
  --root DIR     install under DIR instead of / (no user is created and nothing is started)
  --no-start     install and configure, but do not start the agent
  -h, --help     this help
EOF
}
need() {
  [ $# -ge 2 ] || die 2 "$1 needs a value (see --help)"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --server) need "$@"; SERVER=$2; shift 2 ;;
    --server=*) SERVER=${1#*=}; shift ;;
    --code) need "$@"; CODE=$2; shift 2 ;;
    --code=*) CODE=${1#*=}; shift ;;
    --node) need "$@"; NODE_NAME=$2; shift 2 ;;
    --node=*) NODE_NAME=${1#*=}; shift ;;
    --ca) need "$@"; CA=$2; shift 2 ;;
    --ca=*) CA=${1#*=}; shift ;;
    --root) need "$@"; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#*=}; shift ;;
    --no-start) START=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die 2 "unknown option $1 (see --help)" ;;
  esac
done

# ---- settings
case "$SERVER" in
  http://?*|https://?*) ;;
  "") die 2 "--server is required: the monitor server's URL, e.g. https://monitor.example:3000" ;;
  *) die 2 "--server must be an http:// or https:// URL (got $SERVER)" ;;
esac
case "$SERVER" in
  *[[:space:],]*) die 2 "--server must be one URL without spaces or commas (got $SERVER)" ;;
esac
SERVER=${SERVER%/}
[ -n "$CODE" ] || die 2 "--code is required: make an enrolment code in the dashboard (Admin, Add a node)"
printf '%s\n' "$CODE" | grep -Eq '^kame_[A-Za-z0-9_-]{43}$' ||
  die 2 "--code is not an enrolment code (kame_ and 43 letters, digits, '-' or '_'): copy it again from the dashboard"
if [ -z "$NODE_NAME" ]; then
  NODE_NAME=$(uname -n)
fi
printf '%s\n' "$NODE_NAME" | grep -Eq '^[A-Za-z0-9._-]{1,128}$' ||
  die 2 "--node must be 1 to 128 letters, digits, '.', '_' or '-' (got $NODE_NAME)"
if [ -n "$CA" ] && [ ! -r "$CA" ]; then
  die 2 "--ca $CA: not a readable file"
fi
case "$ROOT" in
  /) DEST="" ;;
  /*) DEST=${ROOT%/} ;;
  *) die 2 "--root must be an absolute directory (got $ROOT)" ;;
esac
if [ -z "$DEST" ] && [ "$(id -u)" -ne 0 ]; then
  die 1 "run as root (curl ... | sudo sh -s -- ...), or install elsewhere with --root DIR"
fi

# ---- tools
NODE_BIN=$(command -v node || command -v nodejs || true)
[ -n "$NODE_BIN" ] || die 1 "Node.js 18 or later is required and not found: install it (Debian/Ubuntu: apt-get install nodejs)"
"$NODE_BIN" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
  die 1 "Node.js 18 or later is required; $NODE_BIN is $("$NODE_BIN" --version)"
if command -v curl >/dev/null 2>&1; then
  fetch() {
    if [ -n "$CA" ]; then curl -fsSL --retry 2 --cacert "$CA" -o "$2" "$1"; else curl -fsSL --retry 2 -o "$2" "$1"; fi
  }
elif command -v wget >/dev/null 2>&1; then
  fetch() {
    if [ -n "$CA" ]; then wget -q --ca-certificate="$CA" -O "$2" "$1"; else wget -q -O "$2" "$1"; fi
  }
else
  die 1 "neither curl nor wget is installed: install one of them"
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
elif command -v openssl >/dev/null 2>&1; then
  sha256() { openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1; }
else
  die 1 "no SHA-256 tool (sha256sum, shasum or openssl) to verify the downloads"
fi

# ---- download and verify
TMP=$(mktemp -d "${TMPDIR:-/tmp}/keepalived-agent-install.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM HUP
for f in SHA256SUMS keepalived-agent.cjs keepalived-agent.service; do
  fetch "$SERVER/downloads/$f" "$TMP/$f" || die 1 "cannot download $SERVER/downloads/$f (see the message above); nothing was installed"
done
for f in keepalived-agent.cjs keepalived-agent.service; do
  want=$(awk -v f="$f" '$2 == f { print $1 }' "$TMP/SHA256SUMS")
  [ -n "$want" ] || die 1 "$SERVER/downloads/SHA256SUMS has no line for $f; nothing was installed"
  got=$(sha256 "$TMP/$f")
  [ "$want" = "$got" ] || die 1 "checksum mismatch for $f: SHA256SUMS says $want, the download is $got (corrupted or changed in transit); nothing was installed"
  say "verified $f (sha256 $got)"
done

# ---- install
LIB="$DEST/usr/lib/keepalived-agent"
UNIT_DIR="$DEST/etc/systemd/system"
DEFAULTS="$DEST/etc/default/keepalived-agent"
mkdir -p "$LIB" "$UNIT_DIR" "$DEST/etc/default"
cp "$TMP/keepalived-agent.cjs" "$LIB/.keepalived-agent.cjs.new"
chmod 0755 "$LIB/.keepalived-agent.cjs.new"
mv -f "$LIB/.keepalived-agent.cjs.new" "$LIB/keepalived-agent.cjs"
# the unit runs /usr/bin/node: point it at the node found here when that is elsewhere
sed "s#^ExecStart=/usr/bin/node #ExecStart=$NODE_BIN #" "$TMP/keepalived-agent.service" >"$UNIT_DIR/.keepalived-agent.service.new"
chmod 0644 "$UNIT_DIR/.keepalived-agent.service.new"
mv -f "$UNIT_DIR/.keepalived-agent.service.new" "$UNIT_DIR/keepalived-agent.service"
say "installed $LIB/keepalived-agent.cjs and $UNIT_DIR/keepalived-agent.service"

CA_LINE=""
if [ -n "$CA" ]; then
  mkdir -p "$DEST/etc/keepalived-agent"
  cp "$CA" "$DEST/etc/keepalived-agent/ca.pem"
  chmod 0644 "$DEST/etc/keepalived-agent/ca.pem"
  CA_LINE="KAM_CA=/etc/keepalived-agent/ca.pem"
fi
if [ -f "$DEFAULTS" ]; then
  cp -p "$DEFAULTS" "$DEFAULTS.before-install"
  say "kept the previous settings as $DEFAULTS.before-install"
fi
(
  umask 077
  {
    echo "# Settings of the keepalived monitor agent, written by $SERVER/downloads/install.sh on $(date -u '+%Y-%m-%dT%H:%M:%SZ')."
    echo "# At its first start the agent exchanges KAM_ENROL_CODE for this node's agent token and keeps the token in"
    echo "# its state directory (/var/lib/keepalived-agent/token, mode 0600); the code is then used up and may be removed."
    echo "# After a change: systemctl restart keepalived-agent. \`node /usr/lib/keepalived-agent/keepalived-agent.cjs --help\` lists every setting."
    echo "KAM_SERVER=$SERVER"
    echo "KAM_NODE=$NODE_NAME"
    echo "KAM_ENROL_CODE=$CODE"
    if [ -n "$CA_LINE" ]; then echo "$CA_LINE"; fi
  } >"$DEFAULTS.new"
)
chmod 0600 "$DEFAULTS.new"
mv -f "$DEFAULTS.new" "$DEFAULTS"
say "wrote $DEFAULTS (mode 0600: it holds the enrolment code)"
if [ -f "$DEST/var/lib/keepalived-agent/token" ]; then
  say "note: $DEST/var/lib/keepalived-agent/token exists: this node was enrolled before, and the agent keeps using that token (delete it to enrol with the new code)"
fi

if [ -n "$DEST" ]; then
  say "installed under $ROOT: no user created, nothing started"
  exit 0
fi

# ---- the system user the unit runs as
if ! id keepalived-agent >/dev/null 2>&1; then
  if command -v useradd >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /var/lib/keepalived-agent --shell /usr/sbin/nologin keepalived-agent
  elif command -v adduser >/dev/null 2>&1; then
    adduser --system --group --no-create-home --home /var/lib/keepalived-agent --shell /usr/sbin/nologin keepalived-agent
  else
    die 1 "cannot create the system user keepalived-agent (no useradd or adduser): create it, then run this again"
  fi
  say "created the system user keepalived-agent"
fi

cat <<EOF
$PROG: keepalived's configuration is often readable by root only; to let the agent report it:
  setfacl -m u:keepalived-agent:r /etc/keepalived/keepalived.conf   (X on included directories)
EOF

if [ "$START" = no ]; then
  say "not started (--no-start): systemctl daemon-reload && systemctl enable --now keepalived-agent"
  exit 0
fi
if ! command -v systemctl >/dev/null 2>&1 || [ ! -d /run/systemd/system ]; then
  say "systemd does not run here: start the agent yourself, with the settings of $DEFAULTS:"
  say "  set -a; . $DEFAULTS; set +a; KAM_STATE_DIR=/var/lib/keepalived-agent $NODE_BIN /usr/lib/keepalived-agent/keepalived-agent.cjs"
  exit 0
fi
systemctl daemon-reload
systemctl enable keepalived-agent >/dev/null 2>&1 || die 1 "systemctl enable keepalived-agent failed"
systemctl restart keepalived-agent || die 1 "the agent did not start: journalctl -u keepalived-agent -n 50"
sleep 3
if systemctl is-active --quiet keepalived-agent; then
  say "started: the node appears in the dashboard once it has enrolled (journalctl -u keepalived-agent -f)"
else
  die 1 "the agent is not running: journalctl -u keepalived-agent -n 50 says why"
fi
}

# everything runs from main, called on the last line: a download cut short runs nothing
main "$@"
