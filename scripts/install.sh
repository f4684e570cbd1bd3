#!/bin/sh
# Installs daqd as a systemd service (docs/service.md). Idempotent: run it again to update the app;
# an existing config is never overwritten. Run from a checkout after `npm install`.
#
#   sudo scripts/install.sh                 # user/group daq, /opt/daqd, /etc/daqd, /var/lib/daqd, unit, enabled
#   sudo scripts/install.sh --uninstall     # app, unit and commands removed; config and state kept
#
# Options:
#   --prefix DIR     where the app goes (default /opt/daqd)
#   --destdir DIR    install below DIR instead of / (packaging, tests); also $DESTDIR
#   --no-system      change nothing outside the files: no useradd, chown or systemctl (tests, packaging)
#   --socket-unit    also install daqd.socket (socket activation; not enabled)
#   --purge          with --uninstall: remove the config and the state too
#   --user NAME      the service's user and group (default daq)
set -eu

PREFIX=/opt/daqd
DESTDIR=${DESTDIR:-}
SYSTEM=1
UNINSTALL=0
PURGE=0
SOCKET_UNIT=0
SVC_USER=daq
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#*=}; shift ;;
    --destdir) DESTDIR=$2; shift 2 ;;
    --destdir=*) DESTDIR=${1#*=}; shift ;;
    --no-system) SYSTEM=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    --socket-unit) SOCKET_UNIT=1; shift ;;
    --user) SVC_USER=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$PREFIX" in /*) ;; *) echo "install.sh: --prefix must be an absolute path" >&2; exit 2 ;; esac

SRC=$(cd "$(dirname "$0")/.." && pwd)
APP=$DESTDIR$PREFIX
ETC=$DESTDIR/etc/daqd
STATE=$DESTDIR/var/lib/daqd
UNITDIR=$DESTDIR/etc/systemd/system
BINDIR=$DESTDIR/usr/local/bin
CONFIG=$ETC/daqd.toml

say() { echo "install.sh: $*"; }
run_system() { if [ "$SYSTEM" = 1 ]; then "$@"; else say "skipped (--no-system): $*"; fi; }

if [ "$UNINSTALL" = 1 ]; then
  if [ "$SYSTEM" = 1 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now daqd.socket >/dev/null 2>&1 || true
    systemctl disable --now daqd.service >/dev/null 2>&1 || true
  fi
  for f in "$UNITDIR/daqd.service" "$UNITDIR/daqd.socket" "$BINDIR/daqd" "$BINDIR/daqctl"; do
    if [ -e "$f" ] || [ -L "$f" ]; then rm -f "$f"; say "removed $f"; fi
  done
  if [ -d "$APP" ]; then rm -rf "$APP"; say "removed $APP"; fi
  run_system systemctl daemon-reload
  if [ "$PURGE" = 1 ]; then
    rm -rf "$ETC" "$STATE"; say "removed $ETC and $STATE"
  else
    [ -d "$ETC" ] && say "kept $ETC (your config; --purge removes it)"
    [ -d "$STATE" ] && say "kept $STATE (--purge removes it)"
  fi
  say "uninstalled (the user $SVC_USER is kept: userdel $SVC_USER removes it)"
  exit 0
fi

NODE=$(command -v node || true)
[ -n "$NODE" ] || { echo "install.sh: node is not on PATH (daqd needs Node.js 20 or later)" >&2; exit 1; }
NODE_MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || { echo "install.sh: $NODE is Node $NODE_MAJOR; daqd needs 20 or later" >&2; exit 1; }
[ -d "$SRC/node_modules" ] || { echo "install.sh: run npm install in $SRC first" >&2; exit 1; }

# 1. The service's user and group (system account, no login), in dialout for serial ports.
if [ "$SYSTEM" = 1 ]; then
  if getent group "$SVC_USER" >/dev/null; then say "group $SVC_USER exists"; else groupadd --system "$SVC_USER"; say "created group $SVC_USER"; fi
  if id "$SVC_USER" >/dev/null 2>&1; then say "user $SVC_USER exists"; else
    useradd --system --gid "$SVC_USER" --groups dialout --home-dir /var/lib/daqd --no-create-home --shell /usr/sbin/nologin "$SVC_USER"
    say "created user $SVC_USER (groups: $SVC_USER, dialout)"
  fi
else
  say "skipped (--no-system): user and group $SVC_USER"
fi

# 2. The app with its node_modules, replaced as a whole (a previous version's files never linger).
mkdir -p "$(dirname "$APP")"
rm -rf "$APP.new"
mkdir -p "$APP.new"
for item in bin src config docs packaging scripts node_modules dist package.json package-lock.json tsconfig.json tsconfig.build.json README.md; do
  [ -e "$SRC/$item" ] && cp -a "$SRC/$item" "$APP.new/"
done
rm -rf "$APP.old"
[ -d "$APP" ] && mv "$APP" "$APP.old"
mv "$APP.new" "$APP"
rm -rf "$APP.old"
say "installed the app in $APP (node $NODE)"

# 3. Commands on PATH.
mkdir -p "$BINDIR"
ln -sfn "$PREFIX/bin/daqd.js" "$BINDIR/daqd"
ln -sfn "$PREFIX/bin/daqctl.js" "$BINDIR/daqctl"
say "linked $BINDIR/daqd and $BINDIR/daqctl"

# 4. The config: never overwritten. daqd writes changes back into it, so the service's group may
#    write the directory (its atomic writes create a temp file beside the config).
mkdir -p "$ETC"
if [ -e "$CONFIG" ]; then
  say "kept $CONFIG (exists; never overwritten)"
else
  cp "$SRC/config/default.toml" "$CONFIG"
  say "installed $CONFIG (the simulated optics bench: edit it for your instruments)"
fi
cp "$SRC/config/daqd.schema.json" "$ETC/daqd.schema.json"
chmod 2770 "$ETC"
chmod 0660 "$CONFIG"
run_system chown -R "root:$SVC_USER" "$ETC"

# 5. State (snapshots, locks).
mkdir -p "$STATE"
chmod 0750 "$STATE"
run_system chown "$SVC_USER:$SVC_USER" "$STATE"
say "state in $STATE"

# 6. The unit(s), with absolute paths.
mkdir -p "$UNITDIR"
sed -e "s|@NODE@|$NODE|g" -e "s|@PREFIX@|$PREFIX|g" "$SRC/packaging/daqd.service" > "$UNITDIR/daqd.service.tmp"
mv "$UNITDIR/daqd.service.tmp" "$UNITDIR/daqd.service"
chmod 0644 "$UNITDIR/daqd.service"
say "installed $UNITDIR/daqd.service"
if [ "$SOCKET_UNIT" = 1 ]; then
  cp "$SRC/packaging/daqd.socket" "$UNITDIR/daqd.socket"
  chmod 0644 "$UNITDIR/daqd.socket"
  say "installed $UNITDIR/daqd.socket (not enabled: systemctl enable --now daqd.socket)"
fi

# 7. Enabled (started at boot); not started here: check the config first.
run_system systemctl daemon-reload
run_system systemctl enable daqd.service
say "done. Check the config:  daqd --config /etc/daqd/daqd.toml --check-config"
say "start it:              systemctl start daqd"
say "let a person use it:   usermod -aG $SVC_USER NAME   (then log in again), and: daqctl status"
