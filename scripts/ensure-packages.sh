#!/usr/bin/env bash
# Makes sure Debian packages the local services need are installed: `ensure-packages.sh CMD=PACKAGE ...`
# installs PACKAGE when the command CMD is missing. As root with apt-get it installs them (once, with
# a note on stderr); otherwise it says what to install and fails.
set -euo pipefail

missing=()
for pair in "$@"; do
  cmd=${pair%%=*}; pkg=${pair#*=}
  if [ "${cmd#/}" != "$cmd" ]; then [ -e "$cmd" ] || missing+=("$pkg"); else command -v "$cmd" >/dev/null || missing+=("$pkg"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo ">> installing ${missing[*]} (Debian packages the local services need)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing: ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
