#!/usr/bin/env bash
# The quick-start demo: a real local control plane, kubevend on its embedded defaults, and a CI job
# that vends a kubeconfig with the kubevend command and uses it with kubectl. `npm run demo -- --keep`
# leaves it all running for trying by hand; Ctrl-C stops it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.kubevend/demo"
port=${KUBEVEND_PORT:-8080}
# Ports of the demo's own control plane, apart from the defaults a developer may be running.
export ETCD_PORT=${ETCD_PORT:-23891} ETCD_PEER_PORT=${ETCD_PEER_PORT:-23901} APISERVER_PORT=${APISERVER_PORT:-16543}
keep=false; [ "${1:-}" = "--keep" ] && keep=true
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

mkdir -p "$dir"
cleanup() {
  [ -n "${kubevend_pid:-}" ] && kill "$kubevend_pid" 2>/dev/null && wait "$kubevend_pid" 2>/dev/null || true
  bash "$root/scripts/control-plane/control-plane.sh" stop "$dir/cluster" >/dev/null 2>&1 || true
}
trap cleanup EXIT

say "1. Starting a local Kubernetes control plane (the first run builds it: several minutes)"
admin=$(bash "$root/scripts/control-plane/control-plane.sh" start "$dir/cluster" | tail -n 1)
kubectl="$dir/cluster/kubectl"
k() { "$kubectl" --kubeconfig "$admin" "$@"; }
echo "kube-apiserver $(k version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n 1) is ready"

say "2. The platform team's side: a namespace, a ServiceAccount with the 'edit' role, a policy"
k create namespace web >/dev/null
k create namespace billing >/dev/null
k -n web create serviceaccount deployer >/dev/null
k -n web create rolebinding deployer-edit --clusterrole=edit --serviceaccount=web:deployer >/dev/null
echo "namespace web: ServiceAccount deployer bound to ClusterRole edit; namespace billing: nothing granted"
[ -f "$dir/ci-signing-key.pem" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/ci-signing-key.pem" 2>/dev/null
openssl pkey -in "$dir/ci-signing-key.pem" -pubout -out "$dir/ci-signing-key.pub.pem"
cat > "$dir/policy.yaml" <<POLICY
# Demo policy: the demo CI issuer's jobs for acme/web on main get 'deployer' in 'web'.
issuers:
  - name: demo-ci
    issuer: https://ci.demo.kubevend.test
    audiences: [kubevend]
    publicKeyFile: ci-signing-key.pub.pem
    algorithms: [RS256]
clusters:
  - name: local
    kubeconfig: cluster/admin.kubeconfig
pipelines:
  - name: web-deploy
    issuer: demo-ci
    match: { repository: acme/web, ref: refs/heads/main }
    grants:
      - cluster: local
        namespace: web
        serviceAccount: deployer
        ttl: { default: 15m, max: 1h }
POLICY
echo "policy: $dir/policy.yaml"

say "3. Starting kubevend on http://127.0.0.1:$port"
(cd "$root" && npm run --silent build)
rm -f "$dir/kubevend.db"*
KUBEVEND_POLICY_FILE="$dir/policy.yaml" KUBEVEND_PORT=$port KUBEVEND_DATABASE_URL="sqlite://$dir/kubevend.db" \
  node "$root/dist/server/server.js" > "$dir/kubevend.log" 2>&1 &
kubevend_pid=$!
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "kubevend did not start:"; cat "$dir/kubevend.log"; exit 1; }
echo "ready (log: $dir/kubevend.log)"

mint() { node "$root/scripts/demo/mint-ci-token.ts" "$dir/ci-signing-key.pem" https://ci.demo.kubevend.test "$1"; }
kubevend() { node "$root/dist/kubevend.js" "$@"; }
export KUBEVEND_URL="http://127.0.0.1:$port"

say "4. The CI job's side: its identity token in, a kubeconfig out"
export CI_TOKEN=$(mint '{"repository":"acme/web","ref":"refs/heads/main","sha":"0123456789abcdef","run_id":"42"}')
echo "\$ kubevend credentials --token-env CI_TOKEN --file kubeconfig     (KUBEVEND_URL=$KUBEVEND_URL)"
kubevend credentials --token-env CI_TOKEN --file "$dir/kubeconfig"
echo "saved $dir/kubeconfig (mode $(stat -c %a "$dir/kubeconfig")) (context $(KUBECONFIG="$dir/kubeconfig" "$kubectl" config current-context), namespace web)"

say "5. Using it"
vk() { "$kubectl" --kubeconfig "$dir/kubeconfig" "$@"; }
echo "\$ kubectl auth whoami"; vk auth whoami
echo "\$ kubectl create configmap release --from-literal=version=1.2.3"; vk create configmap release --from-literal=version=1.2.3
echo "\$ kubectl get configmap release"; vk get configmap release
echo "\$ kubectl -n billing get pods   (not granted: must be forbidden)"
if vk -n billing get pods 2>&1; then echo "UNEXPECTED: access to billing was allowed"; exit 1; fi

say "6. A job no pipeline matches is refused"
export OTHER=$(mint '{"repository":"acme/other","ref":"refs/heads/main"}')
echo "\$ kubevend credentials --token-env OTHER --file other-kubeconfig"
code=0; kubevend credentials --token-env OTHER --file "$dir/other-kubeconfig" || code=$?
echo "exit code $code (3: refused); nothing written: $([ -e "$dir/other-kubeconfig" ] && echo "UNEXPECTED" || echo "no other-kubeconfig")"

say "7. The job is done: it revokes its credential, and the API server stops accepting it"
echo "\$ kubevend revoke --token-env CI_TOKEN --state state.json"
kubevend revoke --token-env CI_TOKEN --state "$dir/state.json"
for i in $(seq 1 40); do
  if ! vk auth whoami >/dev/null 2>&1; then echo "\$ kubectl auth whoami   -> refused after revocation (~$((i / 2)) s)"; break; fi
  sleep 0.5
done
vk auth whoami >/dev/null 2>&1 && { echo "UNEXPECTED: the revoked token still works"; exit 1; }

say "Done: a CI identity token became a 15-minute, namespace-scoped kubeconfig that kubectl used, then revoked."
cat <<HAND
Try it by hand:  npm run demo -- --keep    (leaves kubevend and the control plane running)
  export KUBEVEND_URL=http://127.0.0.1:$port CI_TOKEN=\$(npm exec -- node scripts/demo/mint-ci-token.ts $dir/ci-signing-key.pem https://ci.demo.kubevend.test '{"repository":"acme/web","ref":"refs/heads/main"}')
  node dist/kubevend.js credentials --token-env CI_TOKEN --format env --file -
  curl -sS --fail-with-body --retry 3 -H "Authorization: Bearer \$CI_TOKEN" http://127.0.0.1:$port/v1/issuances | jq .
  API docs: http://127.0.0.1:$port/docs
HAND
if $keep; then
  echo "Running; Ctrl-C stops kubevend and the control plane."
  wait "$kubevend_pid"
fi
