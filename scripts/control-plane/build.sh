#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kubectl (or the binaries named as arguments, such
# as kubelet) of one pinned Kubernetes version from the Go module proxy and caches them outside the
# work tree, keyed by version. Builds only what is missing. Prints the directory holding the binaries
# on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"

bin_dir="$KUBEVEND_CACHE/kubernetes/$K8S_VERSION/bin"
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=(kube-apiserver kube-controller-manager kubectl)

missing=()
for b in "${binaries[@]}"; do [ -x "$bin_dir/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$bin_dir"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: Go is needed to build the Kubernetes binaries" >&2; exit 1; }

minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
patch=${K8S_VERSION##*.}
staging="v0.$minor.$patch"

work=$(mktemp -d "${TMPDIR:-/tmp}/kubevend-k8s-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

echo ">> building ${missing[*]} $K8S_VERSION from the Go module proxy" >&2
echo ">> a cold build takes about 7 minutes on 2 cores (longer with a slow module proxy) and a few GB of Go cache; later runs reuse $bin_dir" >&2

gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[ -f "$gomod" ] || { echo "build.sh: could not download k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }

# k8s.io/kubernetes requires its staging modules at v0.0.0 with replaces into ./staging, which do not
# apply to a dependent module: replace each one with its published v0.<minor>.<patch> instead.
{
  echo "module kubevend.local/k8s-build"
  echo
  sed -n 's/^go \(.*\)$/go \1/p' "$gomod"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  grep -oE '^[[:space:]]+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
} > go.mod

ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

mkdir -p "$bin_dir"
start=$(date +%s)
for b in "${missing[@]}"; do
  case "$b" in
    kubectl) pkg=k8s.io/kubernetes/cmd/kubectl ;;
    *) pkg=k8s.io/kubernetes/cmd/$b ;;
  esac
  echo ">> [$(( $(date +%s) - start ))s] go build $b (progress: one line per finished binary)" >&2
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$work/$b" "$pkg"
  mv "$work/$b" "$bin_dir/$b"
  echo ">> [$(( $(date +%s) - start ))s] built $bin_dir/$b" >&2
done
echo "$bin_dir"
