#!/bin/sh
# chassis_control hook of a zeroroot lab BMC (ipmi_sim). Called by ipmi_sim as
#   hook.sh STATE_DIR 0x20 get power|boot        -> prints power:0|1 / boot:<device>
#   hook.sh STATE_DIR 0x20 set power 0|1 | set reset 1 | set boot pxe|default|cdrom|bios|none
# State (one small file per value) lives in STATE_DIR/hook. STATE_DIR/hook.conf defines boot_cmd and
# halt_cmd. ipmi_sim reads our stdout until EOF, so anything left running must not hold it.
#
# Boot device semantics: ipmi_sim passes only the device to this hook, never IPMI's "persistent"
# flag, so the lab fixes the rule here: "pxe" is a one-time override (the next boot only, then the
# persistent device again), any other device becomes the persistent device and clears a pending
# override. STATE_DIR/hook/boot.next and boot.persistent may also be written directly by the lab.
set -u
dir=$1
st=$dir/hook
verb=${3:-}
item=${4:-}
value=${5:-}
. "$dir/hook.conf"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$st/events.log"; }
get() { if [ -s "$st/$1" ]; then cat "$st/$1"; else printf '%s\n' "$2"; fi; }
put() { printf '%s\n' "$2" >"$st/$1.tmp" && mv "$st/$1.tmp" "$st/$1"; }
# A process group with a member that is not a zombie (killed members may wait a while to be reaped).
alive_group() { [ -n "$1" ] && ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'; }

power=$(get power 0)
persistent=$(get boot.persistent disk)
next=$(get boot.next "")

do_boot() {
  dev=${next:-$persistent}
  rm -f "$st/boot.next"
  put last-boot "$dev"
  log "boot $dev"
  # Own session (setsid) so halt and the lab can stop everything the boot started, and no fd of ours.
  # The new session leader records its own pid (= process group id): setsid may fork, so $! is not it.
  rm -f "$st/boot.pid"
  setsid sh -c 'echo $$ >"$1/hook/boot.pid"; . "$1/hook.conf"; shift; boot_cmd "$@"' hook "$dir" "$dev" \
    </dev/null >>"$st/boot.log" 2>&1 &
  i=0
  while [ ! -s "$st/boot.pid" ] && [ $i -lt 50 ]; do sleep 0.02; i=$((i + 1)); done
}

do_halt() {
  log "halt"
  halt_cmd </dev/null >>"$st/boot.log" 2>&1 || log "halt command failed: $?"
  pid=$(get boot.pid "")
  if alive_group "$pid"; then
    kill -TERM "-$pid" 2>/dev/null
    i=0
    while alive_group "$pid" && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "-$pid" 2>/dev/null
  fi
  rm -f "$st/boot.pid"
}

case "$verb $item" in
"get power") echo "power:$power" ;;
"set power")
  if [ "$value" = 1 ] && [ "$power" != 1 ]; then
    put power 1
    do_boot
  elif [ "$value" = 0 ] && [ "$power" != 0 ]; then
    put power 0
    do_halt
  fi
  ;;
"set reset")
  if [ "$power" = 1 ]; then
    do_halt
    do_boot
  fi
  ;;
"get boot")
  dev=${next:-$persistent}
  [ "$dev" = disk ] && dev=default
  echo "boot:$dev"
  ;;
"set boot")
  dev=$value
  [ "$dev" = default ] && dev=disk
  if [ "$dev" = pxe ]; then
    put boot.next pxe
    log "bootdev pxe (next boot only)"
  else
    put boot.persistent "$dev"
    rm -f "$st/boot.next"
    log "bootdev $dev (persistent)"
  fi
  ;;
*)
  log "unsupported: $verb $item $value"
  exit 1
  ;;
esac
exit 0
