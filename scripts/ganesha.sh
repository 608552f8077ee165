#!/usr/bin/env bash
# Runs nfs-ganesha (Debian's 4.3, VFS FSAL) exporting DIR over NFSv3 on
# 127.0.0.1:PORT, for comparisons with `dittofs bench --vs`. Not part of the
# test suite.
#
#   scripts/ganesha.sh start DIR PORT   # prints the URL for dittofs bench
#   scripts/ganesha.sh stop  DIR PORT
#
# Needs root (ganesha's VFS FSAL opens files by handle). Installs
# nfs-ganesha, nfs-ganesha-vfs and rpcbind with apt when they are missing.
# NFS answers on PORT and MOUNT on PORT+1 (ganesha 4.3 cannot share one
# port between them; the printed URL says so with mountport=); NLM, RQUOTA,
# NFSv4 and UDP are off.
# Ganesha registers with rpcbind while it starts, so rpcbind is started if
# it is not running (and stopped again by `stop` if this script started it).
# Configuration, logs and state live in $GANESHA_STATE (default
# ${TMPDIR:-/tmp}/dittofs-ganesha-PORT).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR PORT" >&2
  exit 2
}

[[ $# -eq 3 ]] || usage
cmd=$1
dir=$2
port=$3
[[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 65535)) || {
  echo "ganesha.sh: $port is not a port number" >&2
  exit 2
}
# Ganesha 4.3 does not serve MOUNT on the NFS port: it gets the next one.
mnt_port=$((port + 1))
state=${GANESHA_STATE:-${TMPDIR:-/tmp}/dittofs-ganesha-$port}

need_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "ganesha.sh: run as root (ganesha's VFS FSAL needs it)" >&2
    exit 1
  fi
}

install_packages() {
  local missing=()
  command -v ganesha.nfsd >/dev/null 2>&1 || missing+=(nfs-ganesha)
  [[ -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ]] ||
    compgen -G '/usr/lib/*/ganesha/libfsalvfs.so' >/dev/null ||
    missing+=(nfs-ganesha-vfs)
  command -v rpcbind >/dev/null 2>&1 || [[ -x /usr/sbin/rpcbind ]] ||
    [[ -x /sbin/rpcbind ]] || missing+=(rpcbind)
  if ((${#missing[@]})); then
    echo "ganesha.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

rpcbind_running() {
  # rpcinfo is not always installed; the portmapper port is enough.
  (exec 3<>/dev/tcp/127.0.0.1/111) 2>/dev/null
}

start_rpcbind() {
  if rpcbind_running; then
    return
  fi
  mkdir -p /run/rpcbind
  local bin
  bin=$(command -v rpcbind || echo /usr/sbin/rpcbind)
  # In the foreground (-f) under setsid, so its pid is known and it
  # outlives this script.
  setsid "$bin" -f </dev/null >"$state/rpcbind.log" 2>&1 &
  echo $! >"$state/rpcbind.pid"
  for _ in $(seq 50); do
    rpcbind_running && break
    sleep 0.1
  done
  rpcbind_running || {
    echo "ganesha.sh: rpcbind did not start" >&2
    exit 1
  }
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  need_root
  install_packages
  [[ -d $dir ]] || {
    echo "ganesha.sh: $dir is not a directory" >&2
    exit 1
  }
  dir=$(cd "$dir" && pwd -P)
  if [[ -f $state/ganesha.pid ]] && kill -0 "$(cat "$state/ganesha.pid")" 2>/dev/null; then
    echo "ganesha.sh: already running (pid $(cat "$state/ganesha.pid")); stop it first" >&2
    exit 1
  fi
  for p in "$port" "$mnt_port"; do
    if port_open "$p"; then
      echo "ganesha.sh: something already listens on 127.0.0.1:$p" >&2
      exit 1
    fi
  done
  mkdir -p "$state/recovery"
  rm -f "$state/ganesha.log" "$state/ganesha.pid"
  cat >"$state/ganesha.conf" <<EOF
# Written by scripts/ganesha.sh: NFSv3 over TCP on 127.0.0.1:$port.
NFS_CORE_PARAM {
    Bind_Addr = 127.0.0.1;
    NFS_Port = $port;
    MNT_Port = $mnt_port;
    Protocols = 3;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
}
NFSV4 {
    Graceless = true;
    RecoveryBackend = fs;
    RecoveryRoot = "$state/recovery";
}
EXPORT_DEFAULTS {
    SecType = sys;
}
EXPORT {
    Export_Id = 77;
    Path = "$dir";
    Pseudo = "/dittofs-bench";
    Protocols = 3;
    Transports = TCP;
    Access_Type = RW;
    Squash = No_Root_Squash;
    FSAL {
        Name = VFS;
    }
}
LOG {
    Default_Log_Level = EVENT;
}
EOF
  start_rpcbind
  ganesha.nfsd -f "$state/ganesha.conf" -L "$state/ganesha.log" \
    -p "$state/ganesha.pid" -N NIV_EVENT
  for _ in $(seq 100); do
    port_open "$port" && break
    sleep 0.1
  done
  if ! port_open "$port"; then
    echo "ganesha.sh: ganesha did not start listening on 127.0.0.1:$port; its log:" >&2
    tail -n 30 "$state/ganesha.log" >&2 || true
    exit 1
  fi
  echo "nfs://127.0.0.1:$port$dir?version=3&mountport=$mnt_port"
}

stop() {
  local pid
  if [[ -f $state/ganesha.pid ]]; then
    pid=$(cat "$state/ganesha.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$state/ganesha.pid"
  else
    echo "ganesha.sh: not running (no $state/ganesha.pid)" >&2
  fi
  if [[ -f $state/rpcbind.pid ]]; then
    pid=$(cat "$state/rpcbind.pid")
    kill "$pid" 2>/dev/null || true
    rm -f "$state/rpcbind.pid"
  fi
  echo "ganesha.sh: stopped; logs in $state" >&2
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
