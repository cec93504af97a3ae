#!/usr/bin/env bash
# Makes the node's sandbox (pause) image locally: Kubernetes' own pause.c, from the pinned
# k8s.io/kubernetes module, compiled statically and committed with buildah as the only file of an
# image. Made only when missing. Prints the image name on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
source "$here/common.sh"
# shellcheck source=../control-plane/versions.sh
source "$here/../control-plane/versions.sh"
tag=${KUBEVEND_PAUSE_IMAGE:-localhost/kubevend-pause:$K8S_VERSION}
if buildah_ inspect --type image "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

src=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/build/pause/linux/pause.c
[ -f "$src" ] || { echo "pause.sh: no pause.c in k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kubevend-pause.XXXXXX")
trap 'rm -rf "$work"' EXIT
gcc -Os -Wall -Werror -static -DVERSION="$K8S_VERSION" -o "$work/pause" "$src"
strip "$work/pause"
ctr=$(buildah_ from scratch)
buildah_ copy --chmod 0755 "$ctr" "$work/pause" /pause >/dev/null
buildah_ config --entrypoint '["/pause"]' --user 65535:65535 --os linux --arch amd64 "$ctr"
buildah_ commit --rm "$ctr" "$tag" >/dev/null
echo "$tag"
