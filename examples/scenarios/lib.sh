# Shared by the scenarios' run.sh: a NIC daemon of its own on a temporary socket, stopped on exit.
# HOSTCTL overrides how hostctl is run (default: the built dist/hostctl/cli.js when it has `app`, else tsx on the sources).
set -eu
# run.sh has cd-ed into its scenario folder: the repository is three levels up
ROOT=$(cd ../../.. && pwd)
if [ -z "${HOSTCTL:-}" ]; then
  if [ -f "$ROOT/dist/hostctl/commands/app.js" ]; then HOSTCTL="node $ROOT/dist/hostctl/cli.js"
  else HOSTCTL="$ROOT/node_modules/.bin/tsx $ROOT/hostctl/cli.ts"; fi
fi
hostctl() { $HOSTCTL "$@"; }
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kopi-scenario.XXXXXX")
export KOPI_NIC="$RUN_DIR/nic0.sock"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
stop_nic() { hostctl nic stop >/dev/null 2>&1 || true; wait 2>/dev/null || true; rm -rf "$RUN_DIR"; }
trap stop_nic EXIT
hostctl nic start --socket "$KOPI_NIC" 2>"$RUN_DIR/nic.log" &
for _ in $(seq 1 100); do [ -S "$KOPI_NIC" ] && break; sleep 0.1; done
[ -S "$KOPI_NIC" ] || { cat "$RUN_DIR/nic.log"; echo "the NIC daemon did not start" >&2; exit 1; }
