#!/bin/sh
# readme.quick_start_sudo (CTest): README's Quick start command 1 runs its apt-get steps both as
# root in a container without sudo and through sudo when there is one (issue 14, item 6).
# The install part of the command (up to the first `cmake`) runs twice with PATH holding only
# stubs: apt-get records its arguments and succeeds; the second time a sudo stub records its
# arguments and runs the rest. Nothing is installed.
set -eu
readme="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The command: the first line of the README that runs apt-get, cut before `&& cmake`.
line="$(grep -m1 'apt-get install' "$readme" | sed 's/^[[:space:]]*//')"
[ -n "$line" ] || { echo "no apt-get command in $readme"; exit 1; }
install="${line%% && cmake *}"

mkdir -p "$work/bin"
for tool in env sh; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
printf '#!/bin/sh\necho "apt-get $*" >> "%s/log"\n' "$work" > "$work/bin/apt-get"
chmod +x "$work/bin/apt-get"

# 1. No sudo on PATH (root in a container).
PATH="$work/bin" sh -c "$install" || { echo "without sudo, the command failed: $install"; exit 1; }
grep -q '^apt-get update$' "$work/log" && grep -q '^apt-get install -y ' "$work/log" ||
    { echo "without sudo, apt-get was not run as expected:"; cat "$work/log"; exit 1; }

# 2. sudo on PATH (a user): every apt-get goes through it.
rm -f "$work/log"
printf '#!/bin/sh\necho "sudo $*" >> "%s/log"\nexec "$@"\n' "$work" > "$work/bin/sudo"
chmod +x "$work/bin/sudo"
PATH="$work/bin" sh -c "$install" || { echo "with sudo, the command failed: $install"; exit 1; }
[ "$(grep -c '^sudo ' "$work/log")" -eq 2 ] && [ "$(grep -c '^apt-get ' "$work/log")" -eq 2 ] ||
    { echo "with sudo, apt-get did not run through sudo twice:"; cat "$work/log"; exit 1; }
echo "README command 1 installs with and without sudo: ok"
