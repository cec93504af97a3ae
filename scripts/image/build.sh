#!/usr/bin/env bash
# Builds kubevend's image from the Dockerfile with buildah (no daemon), on the base image base.sh makes
# when it cannot be pulled. KUBEVEND_IMAGE names the result (default localhost/kubevend:dev). Prints
# the image name on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=common.sh
source "$here/common.sh"

"$here/base.sh" >/dev/null
# The build's npm ci trusts what this machine trusts (a TLS-inspecting proxy's CA, say): the host's CA
# bundle and an npmrc naming it are mounted for the RUN steps only and stay out of the image.
mounts=()
bundle=/etc/ssl/certs/ca-certificates.crt
if [ -f "$bundle" ]; then
  npmrc=$(mktemp "${TMPDIR:-/tmp}/kubevend-npmrc.XXXXXX")
  trap 'rm -f "$npmrc"' EXIT
  echo "cafile=$bundle" > "$npmrc"
  mounts=(--volume "$bundle:$bundle:ro" --volume "$npmrc:/usr/local/etc/npmrc:ro")
fi
# The image this build replaces: removed after it, as vfs storage keeps every layer as a full copy.
previous=$(podman_ image inspect --format '{{.Id}}' "$KUBEVEND_IMAGE" 2>/dev/null || true)
start=$(date +%s)
echo ">> building $KUBEVEND_IMAGE from the Dockerfile" >&2
buildah_ build --pull=never --layers=false "${mounts[@]}" -f "$root/Dockerfile" -t "$KUBEVEND_IMAGE" "$root" >&2
current=$(podman_ image inspect --format '{{.Id}}' "$KUBEVEND_IMAGE")
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then podman_ rmi "$previous" >/dev/null 2>&1 || true; fi
echo ">> built $KUBEVEND_IMAGE in $(( $(date +%s) - start ))s" >&2
echo "$KUBEVEND_IMAGE"
