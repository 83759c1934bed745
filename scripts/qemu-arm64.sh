#!/usr/bin/env bash
# Make arm64 (aarch64) ELF binaries directly executable on this x86_64 host.
#
#   scripts/qemu-arm64.sh            (root; package qemu-user-static)
#
# Registers the qemu-aarch64 entry of /usr/lib/binfmt.d/qemu-aarch64.conf with
# binfmt_misc, but with the interpreter /usr/bin/qemu-aarch64-static and the
# flags OCF:
#   O  the kernel opens the binary and hands qemu the fd (works for unreadable
#      binaries and for execve("/proc/self/exe") re-execs),
#   C  credentials come from the binary, not from the interpreter,
#   F  the interpreter is opened now, so it also works in chroots/namespaces.
# Idempotent: a correct registration is left alone; one with another interpreter
# or other flags (e.g. Debian's default .../aarch64-binfmt-P with OPF) is replaced.
#
# Dynamically linked arm64 programs also need their loader and libraries:
#   QEMU_LD_PREFIX=build/sysroot/arm64 ./prog
set -euo pipefail

NAME=qemu-aarch64
INTERP=/usr/bin/qemu-aarch64-static
FLAGS=OCF
CONF=/usr/lib/binfmt.d/qemu-aarch64.conf
BINFMT=/proc/sys/fs/binfmt_misc

die() { echo "qemu-arm64: error: $*" >&2; exit 1; }
log() { echo "qemu-arm64: $*" >&2; }

[ -x "$INTERP" ] || die "$INTERP not found: install qemu-user-static (scripts/deps.sh)"
[ -r "$CONF" ] || die "$CONF not found: install qemu-user-static (scripts/deps.sh)"

if [ ! -e "$BINFMT/register" ]; then
  [ "$(id -u)" = 0 ] || die "binfmt_misc is not mounted and we are not root"
  mount -t binfmt_misc binfmt_misc "$BINFMT" \
    || die "cannot mount binfmt_misc on $BINFMT (container without CAP_SYS_ADMIN?)"
fi
[ "$(cat "$BINFMT/status")" = enabled ] || echo 1 > "$BINFMT/status"

# Already registered the way we want it?
entry=$BINFMT/$NAME
if [ -e "$entry" ]; then
  cur_interp=$(sed -n 's/^interpreter //p' "$entry")
  cur_flags=$(sed -n 's/^flags: //p' "$entry")
  cur_state=$(head -n1 "$entry")
  if [ "$cur_interp" = "$INTERP" ] && [ "$cur_state" = enabled ] \
     && [[ $cur_flags == *O* && $cur_flags == *C* && $cur_flags == *F* && $cur_flags != *P* ]]; then
    exit 0
  fi
  [ "$(id -u)" = 0 ] || die "need root to replace the $NAME registration"
  log "replacing registration ($cur_state, interpreter '$cur_interp', flags '$cur_flags')"
  echo -1 > "$entry"   # removes this entry only
fi
[ "$(id -u)" = 0 ] || die "need root to register $NAME with binfmt_misc"

# :name:type:offset:magic:mask:interpreter:flags  -- keep magic and mask verbatim.
line=$(grep -m1 "^:$NAME:" "$CONF") || die "no :$NAME: line in $CONF"
IFS=: read -r _ name type offset magic mask _interp _flags <<<"$line"
[ "$name" = "$NAME" ] && [ "$type" = M ] || die "unexpected line in $CONF: $line"
printf ':%s:%s:%s:%s:%s:%s:%s' "$name" "$type" "$offset" "$magic" "$mask" "$INTERP" "$FLAGS" \
  > "$BINFMT/register" || die "writing the $NAME entry to $BINFMT/register failed"

grep -qx "interpreter $INTERP" "$entry" || die "registration did not take effect ($entry)"
log "registered $NAME -> $INTERP (flags $FLAGS)"
