#!/usr/bin/env bash
# Builds one pinned promtool (Prometheus's rule checker and rule unit tester) from the Go module
# proxy and caches it outside the work tree, keyed by version, as scripts/helm/build.sh does for
# helm. Builds only when missing. Prints the path of the promtool binary on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../control-plane/versions.sh
source "$here/../control-plane/versions.sh"
# Prometheus v3.x is published to the Go module proxy as v0.3xx.y.
PROMETHEUS_MODULE_VERSION=${PROMETHEUS_MODULE_VERSION:-v0.316.0}

promtool="$KUBEVEND_CACHE/promtool/$PROMETHEUS_MODULE_VERSION/promtool"
if [ -x "$promtool" ]; then
  echo "$promtool"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: Go is needed to build promtool" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kubevend-promtool-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo ">> building promtool $PROMETHEUS_MODULE_VERSION from the Go module proxy (a few minutes on a cold Go cache)" >&2
start=$(date +%s)
# remove_all_sd leaves out Prometheus's service discoveries (cloud SDKs, Kubernetes' client), which
# rule checks and rule tests never use and which are most of the build.
GOBIN="$work" CGO_ENABLED=0 go install -trimpath -tags remove_all_sd -ldflags "-s -w" "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
mkdir -p "$(dirname "$promtool")"
mv "$work/promtool" "$promtool"
echo ">> built $promtool in $(( $(date +%s) - start ))s" >&2
echo "$promtool"
