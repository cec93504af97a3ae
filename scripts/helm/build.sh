#!/usr/bin/env bash
# Builds one pinned helm from the Go module proxy and caches it outside the work tree, keyed by
# version. Builds only when missing. Prints the path of the helm binary on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../control-plane/versions.sh
source "$here/../control-plane/versions.sh"
HELM_VERSION=${HELM_VERSION:-v3.22.0}

helm="$KUBEVEND_CACHE/helm/$HELM_VERSION/helm"
if [ -x "$helm" ]; then
  echo "$helm"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: Go is needed to build helm" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kubevend-helm-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The same version stamps helm's Makefile sets: without them `helm version` says v3 with no number
# and the default Capabilities.KubeVersion is 1.20. The Kubernetes minor is that of helm's client-go.
gomod=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[ -f "$gomod" ] || { echo "build.sh: could not download helm.sh/helm/v3@$HELM_VERSION" >&2; exit 1; }
client_go=$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9]*\)\..*$/\1/p' "$gomod")
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags="$ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$client_go"
done

echo ">> building helm $HELM_VERSION from the Go module proxy (a few minutes on a cold Go cache)" >&2
start=$(date +%s)
GOBIN="$work" CGO_ENABLED=0 go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
mkdir -p "$(dirname "$helm")"
mv "$work/helm" "$helm"
echo ">> built $helm in $(( $(date +%s) - start ))s" >&2
echo "$helm"
