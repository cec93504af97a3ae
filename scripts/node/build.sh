#!/usr/bin/env bash
# Builds what a local node runs beyond Debian's packages, cached outside the work tree by version:
# kubelet, kube-proxy and kube-scheduler of the pinned Kubernetes version (as the control plane's
# binaries are built), and containerd v2 with its runc shim and ctr from the Go module proxy (Debian's
# containerd 1.6 is too old for this kubelet). Builds only what is missing. Prints the directory
# holding containerd on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../control-plane/versions.sh
source "$here/../control-plane/versions.sh"
CONTAINERD_VERSION=${CONTAINERD_VERSION:-v2.4.2}

"$here/../control-plane/build.sh" kubelet kube-proxy kube-scheduler >/dev/null

bin_dir="$KUBEVEND_CACHE/containerd/$CONTAINERD_VERSION/bin"
binaries=(containerd containerd-shim-runc-v2 ctr)
missing=()
for b in "${binaries[@]}"; do [ -x "$bin_dir/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
  command -v go >/dev/null || { echo "build.sh: Go is needed to build containerd" >&2; exit 1; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/kubevend-containerd-build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo ">> building ${missing[*]} $CONTAINERD_VERSION from the Go module proxy (about 2 minutes on a warm cache)" >&2
  start=$(date +%s)
  ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
  for b in "${missing[@]}"; do
    GOBIN="$work" CGO_ENABLED=0 GOFLAGS=-mod=mod go install -trimpath -ldflags "$ldflags" \
      "github.com/containerd/containerd/v2/cmd/$b@$CONTAINERD_VERSION"
  done
  mkdir -p "$bin_dir"
  for b in "${missing[@]}"; do mv "$work/$b" "$bin_dir/$b"; done
  echo ">> built containerd in $(( $(date +%s) - start ))s" >&2
fi
echo "$bin_dir"
