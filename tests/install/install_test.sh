#!/usr/bin/env bash
# `cmake --install` into a DESTDIR: the expected files and nothing else, units accepted by
# systemd-analyze verify (against the installed tree), scripts that parse, a completion that
# completes, and --version from the installed binaries. The prefix is the configured one (units
# and scripts carry paths fixed at configure time). Usage: install_test.sh BUILD_DIR VERSION PREFIX
set -euo pipefail
build=$1 version=$2 prefix=$3
dest=$(mktemp -d /var/tmp/mos-install-test.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR=$dest cmake --install "$build" >/dev/null
actual=$(cd "$dest" && find . -type f -o -type l | sed 's|^\./|/|' | sort)
expected=$(sed "s|^|$prefix|" <<'LIST' | sort
/bin/mos-volmgr
/sbin/mos_volmgrd
/sbin/mos_sysvol
/lib/systemd/system/mos_sysvol.service
/lib/systemd/system/mos_volmgrd.service
/lib/systemd/system/mos_volmgrd.socket
/share/bash-completion/completions/mos-volmgr
/share/mos_volmgr/my_init/my_init.d/10_mos_sysvol
/share/mos_volmgr/my_init/service/mos_volmgrd/run
/share/doc/mos_volmgr/examples/mos_sysvol.toml.example
/share/doc/mos_volmgr/README.md
LIST
)
[[ "$actual" == "$expected" ]] || fail "installed files differ:"$'\n'"$(diff <(echo "$expected") <(echo "$actual") || true)"
echo "installed: $(wc -l <<<"$actual") files as expected"

for f in $prefix/sbin/mos_volmgrd $prefix/sbin/mos_sysvol $prefix/bin/mos-volmgr \
         $prefix/share/mos_volmgr/my_init/my_init.d/10_mos_sysvol $prefix/share/mos_volmgr/my_init/service/mos_volmgrd/run; do
  [[ -x $dest$f ]] || fail "$f is not executable"
done
for f in $prefix/share/mos_volmgr/my_init/my_init.d/10_mos_sysvol $prefix/share/mos_volmgr/my_init/service/mos_volmgrd/run \
         $prefix/share/bash-completion/completions/mos-volmgr; do
  bash -n "$dest$f" || fail "$f does not parse"
  if grep -q '@[A-Z_]*@' "$dest$f"; then fail "$f has an unreplaced @VARIABLE@"; fi
done
grep -q "^$prefix/sbin/mos_sysvol " "$dest$prefix/share/mos_volmgr/my_init/my_init.d/10_mos_sysvol" || fail "my_init step does not run the installed mos_sysvol"

# Units: every ExecStart names an installed binary; systemd's own checker judges the rest.
for u in "$dest"$prefix/lib/systemd/system/*; do
  if grep -q '@[A-Z_]*@' "$u"; then fail "$u has an unreplaced @VARIABLE@"; fi
  while read -r exe; do [[ -x $dest$exe ]] || fail "$(basename "$u"): ExecStart $exe is not installed"; done \
    < <(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u")
done
if command -v systemd-analyze >/dev/null && [[ -d /usr/lib/systemd/system ]]; then
  # The targets our units order against come from this host's systemd, copied into the root.
  mkdir -p "$dest/usr/lib/systemd"
  cp -a /usr/lib/systemd/system "$dest/usr/lib/systemd/"
  out=$(cd "$dest$prefix/lib/systemd/system" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --root="$dest" \
        mos_sysvol.service mos_volmgrd.service mos_volmgrd.socket 2>&1) || fail "systemd-analyze verify: $out"
  # verify returns 0 on some warnings; any line about our units is a finding.
  if grep -E 'mos_(sysvol|volmgrd)\.(service|socket)' <<<"$out"; then fail "systemd-analyze verify: $out"; fi
  echo "systemd-analyze verify: clean"
else
  echo "systemd-analyze not installed: unit syntax checked by ExecStart paths only"
fi

# The completion completes commands and a command's options.
# shellcheck disable=SC1090
source "$dest$prefix/share/bash-completion/completions/mos-volmgr"
COMP_WORDS=(mos-volmgr topo); COMP_CWORD=1; _mos_volmgr
[[ "${COMPREPLY[*]}" == "topologies" ]] || fail "completion of 'topo': '${COMPREPLY[*]}'"
COMP_WORDS=(mos-volmgr create-partition --si); COMP_CWORD=2; _mos_volmgr
[[ "${COMPREPLY[*]}" == "--size" ]] || fail "completion of 'create-partition --si': '${COMPREPLY[*]}'"
echo "completion: ok"

for b in $prefix/sbin/mos_volmgrd $prefix/bin/mos-volmgr; do
  v=$("$dest$b" --version)
  [[ $v == *"$version"* ]] || fail "$b --version printed '$v', expected it to contain $version"
  echo "$b --version: $v"
done
echo "PASS"
