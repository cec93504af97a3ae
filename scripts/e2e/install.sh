#!/usr/bin/env bash
# The install, proven end to end on this machine (npm run e2e:install):
#  1. the image, built from the Dockerfile without a daemon (scripts/image/build.sh), run by podman as
#     uid 1000 with a read-only root and its volume: it starts, answers /readyz and issues;
#  2. a real node (scripts/node/node.sh) and `helm install` of the chart with that image (SQLite):
#     kubevend runs as a pod with in-cluster configuration and exactly the chart's RBAC, a CI job gets
#     a kubeconfig through the Service and uses it; `helm upgrade` keeps the ledger, `helm uninstall`
#     keeps its volume;
#  3. two replicas on PostgreSQL: `helm upgrade` and `kubectl rollout restart` under steady requests
#     through the Service lose no request.
# Idempotent (it first removes what an earlier run left) and bounded (E2E_TIMEOUT seconds, default
# 2400); whatever happens, it stops what it started. Numbers go to stdout and to .kubevend/e2e-install/report.txt.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
scripts="$root/scripts"
# shellcheck source=../image/common.sh
source "$scripts/image/common.sh"
# shellcheck source=../control-plane/versions.sh
source "$scripts/control-plane/versions.sh"
dir="$root/.kubevend/e2e-install"
node_dir="$dir/node"; pg_dir="$dir/postgres"; work="$dir/work"
port=${E2E_PORT:-18480}
pg_port=${E2E_PGPORT:-25532}
limit=${E2E_TIMEOUT:-2400}
container=kubevend-e2e-install
volume=kubevend-e2e-install-data
issuer=https://ci.e2e.kubevend.test
claims='{"repository":"acme/web","ref":"refs/heads/main"}'
node24="$root/node_modules/.bin/node"
t0=$(date +%s)

say() { printf '\n== [%ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
record() { echo "$*" | tee -a "$dir/report.txt"; }
fail() { echo "e2e:install FAILED: $*" >&2; exit 1; }
kubectl() { "$KUBEVEND_CACHE/kubernetes/$K8S_VERSION/bin/kubectl" --kubeconfig "$node_dir/cluster/admin.kubeconfig" "$@"; }
helm() { "$helm_bin" --kubeconfig "$node_dir/cluster/admin.kubeconfig" "$@"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# A pod's start-up: its container started at, and the pod became Ready at (the API's seconds).
pod_start_line() {
  kubectl -n "$1" get pods -o jsonpath='{range .items[*]}{.metadata.name} {.status.containerStatuses[0].state.running.startedAt} {.status.conditions[?(@.type=="Ready")].lastTransitionTime}{"\n"}{end}' |
    while read -r name started ready; do
      echo "$name ready $(( $(date -d "$ready" +%s) - $(date -d "$started" +%s) ))s after its container started"
    done | tr '\n' ';'
}
mint() { "$node24" "$scripts/demo/mint-ci-token.ts" "$work/ci.pem" "$issuer" "$claims"; }

cleanup() {
  for pid in ${load_pid:-}; do kill "$pid" 2>/dev/null || true; done
  [ -n "${watchdog:-}" ] && kill "$watchdog" 2>/dev/null || true
  podman_ rm -f -t 2 "$container" >/dev/null 2>&1 || true
  podman_ volume rm -f "$volume" >/dev/null 2>&1 || true
  bash "$scripts/node/node.sh" stop "$node_dir" >/dev/null 2>&1 || true
  bash "$scripts/postgres/postgres.sh" stop "$pg_dir" >/dev/null 2>&1 || true
}
trap 'rc=$?; cleanup; [ "$rc" -eq 0 ] || echo "e2e:install: logs in $dir (node: $node_dir/logs)" >&2; exit "$rc"' EXIT
# The bound: past it the run is stopped, and the trap above cleans up.
( sleep "$limit"; echo "e2e:install: over ${limit}s, stopping" >&2; kill -TERM $$ ) 2>/dev/null &
watchdog=$!

cleanup
rm -rf "$dir"; mkdir -p "$work"
: > "$dir/report.txt"
[ -x "$node24" ] || fail "run npm ci first (Node.js 24 comes from the node devDependency)"
"$scripts/ensure-packages.sh" buildah=buildah podman=podman debootstrap=debootstrap runc=runc \
  /usr/lib/cni/bridge=containernetworking-plugins iptables=iptables conntrack=conntrack \
  etcd=etcd-server openssl=openssl curl=curl /usr/lib/postgresql=postgresql
helm_bin=$(bash "$scripts/helm/build.sh" | tail -n 1)
bash "$scripts/node/build.sh" >/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/ci.pem" 2>/dev/null
openssl pkey -in "$work/ci.pem" -pubout -out "$work/ci.pub.pem"

say "1. the image"
s=$(date +%s)
image=$(bash "$scripts/image/build.sh" | tail -n 1)
record "image: $image built in $(( $(date +%s) - s ))s, $(podman_ image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"

say "2. a node with a control plane of its own"
s=$(date +%s)
bash "$scripts/node/node.sh" start "$node_dir" >/dev/null
record "node: Ready in $(( $(date +%s) - s ))s ($(kubectl get node -o jsonpath='{.items[0].status.nodeInfo.containerRuntimeVersion}, kubelet {.items[0].status.nodeInfo.kubeletVersion}'))"
kubectl create namespace web >/dev/null
kubectl -n web create serviceaccount deployer >/dev/null
kubectl -n web create rolebinding deployer-edit --clusterrole=edit --serviceaccount=web:deployer >/dev/null

say "3. the image under podman: uid 1000, read-only root, its volume"
mkdir -p "$work/policy"
cp "$work/ci.pub.pem" "$work/policy/ci.pub.pem"
install -m 0644 "$node_dir/cluster/admin.kubeconfig" "$work/policy/cluster.kubeconfig"
policy() { # CLUSTER_YAML KEY_PATH
  cat <<POLICY
issuers:
  - { name: ci, issuer: $issuer, audiences: [kubevend], publicKeyFile: $2, algorithms: [RS256] }
clusters:
  - $1
pipelines:
  - name: web-deploy
    issuer: ci
    match: { repository: acme/web, ref: refs/heads/main }
    # The steady requests below ask 2.5 times a second, over the default 60 a minute.
    rateLimit: { requests: 600, per: 1m }
    grants:
      - { cluster: local, namespace: web, serviceAccount: deployer, ttl: { default: 15m, max: 1h } }
POLICY
}
policy "{ name: local, kubeconfig: cluster.kubeconfig }" ci.pub.pem > "$work/policy/policy.yaml"
podman_ volume create "$volume" >/dev/null
# This machine's root may lack CAP_SYS_RESOURCE: limits at or below the host's, not podman's defaults.
podman_ create --name "$container" --cgroup-manager cgroupfs --events-backend file \
  --ulimit nofile=16384:16384 --ulimit nproc=4096:4096 --network host \
  --read-only --user 1000:1000 -e KUBEVEND_PORT="$port" \
  -v "$volume:/var/lib/kubevend" -v "$work/policy:/etc/kubevend/policy:ro" "$image" >/dev/null
s=$(ms)
podman_ start --cgroup-manager cgroupfs "$container" >/dev/null
until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
  [ $(( $(ms) - s )) -lt 60000 ] || { podman_ logs "$container" | tail -n 20 >&2; fail "the image did not answer /readyz in 60 s"; }
  sleep 0.05
done
record "image run: /readyz answered $(( $(ms) - s )) ms after podman start (uid $(podman_ exec "$container" id -u), read-only root: $(podman_ exec "$container" sh -c 'touch /app/x 2>&1 || true' | grep -c 'Read-only file system'))"
curl -fsS -X POST -H "Authorization: Bearer $(mint)" -H "Accept: application/yaml" \
  "http://127.0.0.1:$port/v1/credentials" -o "$work/podman.kubeconfig"
"${KUBEVEND_CACHE}/kubernetes/$K8S_VERSION/bin/kubectl" --kubeconfig "$work/podman.kubeconfig" auth whoami -o jsonpath='{.status.userInfo.username}' | grep -qx system:serviceaccount:web:deployer \
  || fail "the image's kubeconfig does not act as web:deployer"
record "image run: issued a kubeconfig that acts as web:deployer; the ledger on the volume: $(podman_ exec "$container" ls /var/lib/kubevend | tr '\n' ' ')"
podman_ rm -f -t 10 "$container" >/dev/null

say "4. helm install on the node (SQLite on a PersistentVolume)"
s=$(date +%s)
bash "$scripts/node/node.sh" import "$node_dir" "$image" >/dev/null
record "image imported into containerd in $(( $(date +%s) - s ))s"
mkdir -p "$work/pv"; chown 1000:1000 "$work/pv"
kubectl apply -f - >/dev/null <<PV
apiVersion: v1
kind: PersistentVolume
metadata: { name: kubevend-e2e-data }
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  storageClassName: kubevend-e2e
  persistentVolumeReclaimPolicy: Retain
  hostPath: { path: $work/pv, type: Directory }
PV
values() { # STORAGE_JSON: the values of both installs
  "$node24" -e '
    const [storage, key, policy] = process.argv.slice(1);
    console.log(JSON.stringify({
      image: { repository: "localhost/kubevend", tag: "dev", pullPolicy: "Never" },
      storage: JSON.parse(storage),
      issuerKeys: { files: { "ci.pub.pem": require("node:fs").readFileSync(key, "utf8") } },
      policy: { content: require("yaml").parse(policy) },
    }));' "$1" "$work/ci.pub.pem" "$(policy "{ name: local, inCluster: true }" /etc/kubevend/issuer-keys/ci.pub.pem)"
}
(cd "$root" && values '{"type":"sqlite","sqlite":{"storageClassName":"kubevend-e2e"}}') > "$work/sqlite.json"
s=$(date +%s)
helm install kubevend "$root/helm/kubevend" -n kubevend --create-namespace -f "$work/sqlite.json" --wait --timeout 5m >/dev/null \
  || { kubectl -n kubevend describe pods | tail -n 30 >&2; fail "helm install"; }
record "helm install (SQLite): Ready in $(( $(date +%s) - s ))s; $(pod_start_line kubevend 2>/dev/null || true)"

svc="http://$(kubectl -n kubevend get service kubevend -o jsonpath='{.spec.clusterIP}:{.spec.ports[0].port}')"
pod=$(kubectl -n kubevend get pods -o name | head -n 1)
record "pod: uid $(kubectl -n kubevend exec "$pod" -- id -u), read-only root: $(kubectl -n kubevend exec "$pod" -- sh -c 'touch /app/x 2>&1 || true' | grep -c 'Read-only file system'), in-cluster service account $(kubectl -n kubevend get "$pod" -o jsonpath='{.spec.serviceAccountName}')"
# Exactly the chart's RBAC: what the chart grants works (the issuance below), and nothing more.
sa=system:serviceaccount:kubevend:kubevend
for check in "create serviceaccounts --subresource=token -n web" "get secrets -n kube-system" "create serviceaccounts --subresource=token -n kube-system" "list pods -n web"; do
  # shellcheck disable=SC2086
  record "chart RBAC: can-i $check: $(kubectl auth can-i $check --as "$sa" 2>/dev/null || true)"
done

say "5. a CI job through the Service: a kubeconfig, used"
curl -fsS -X POST -H "Authorization: Bearer $(mint)" -H "Accept: application/yaml" "$svc/v1/credentials" -o "$work/ci.kubeconfig" \
  || fail "no kubeconfig through the Service"
ci() { "$KUBEVEND_CACHE/kubernetes/$K8S_VERSION/bin/kubectl" --kubeconfig "$work/ci.kubeconfig" "$@"; }
[ "$(ci auth whoami -o jsonpath='{.status.userInfo.username}')" = system:serviceaccount:web:deployer ] || fail "the CI kubeconfig is not web:deployer"
ci create configmap release --from-literal=version=1.2.3 >/dev/null
if ci -n kube-system get secrets >/dev/null 2>&1; then fail "the CI kubeconfig reaches kube-system"; fi
record "CI job: kubeconfig through the Service (server $(sed -n 's/^ *server: *//p' "$work/ci.kubeconfig" | tr -d '"')), acts as web:deployer, created a ConfigMap in web, refused in kube-system"

issuances() { curl -fsS -H "Authorization: Bearer $(mint)" "$1/v1/issuances" | grep -o '"id":"[0-9a-z]*"' | sort -u | wc -l; }
before=$(issuances "$svc")

steady() { # BASE_URL OUTPUT [--keep-alive]: steady requests in the background until stop_steady
  "$node24" "$scripts/e2e/steady.ts" "$1" "$work/ci.pem" "$issuer" "$claims" --rate 10 --seconds "$limit" "${@:3}" > "$2" 2>&1 &
  load_pid="${load_pid:-} $!"
  sleep 3
}
stop_steady() {
  local pid
  for pid in $load_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  load_pid=
}

say "6. helm upgrade (SQLite: Recreate, one process per database file)"
steady "$svc" "$work/steady-sqlite.json"
s=$(date +%s)
helm upgrade kubevend "$root/helm/kubevend" -n kubevend -f "$work/sqlite.json" --set config.logLevel=debug --wait --timeout 5m >/dev/null || fail "helm upgrade (SQLite)"
sleep 5; stop_steady
after=$(issuances "$svc")
[ "$after" -ge "$before" ] || fail "the ledger lost issuances across the upgrade ($before before, $after after)"
record "helm upgrade (SQLite): ${after} issuances on record after, ${before} before; $(( $(date +%s) - s ))s; under steady requests, the gap of Recreate: $(cat "$work/steady-sqlite.json")"

say "7. helm uninstall keeps the ledger's volume"
helm uninstall kubevend -n kubevend --wait --timeout 2m >/dev/null
kubectl -n kubevend get pvc kubevend-data >/dev/null 2>&1 || fail "helm uninstall removed the ledger's claim"
[ -s "$work/pv/kubevend.db" ] || fail "the ledger's database is gone from the volume"
record "helm uninstall: PersistentVolumeClaim kubevend-data kept, kubevend.db on the volume ($(stat -c %s "$work/pv/kubevend.db") bytes)"

say "8. two replicas on PostgreSQL: helm upgrade and a rollout restart under steady requests"
pg_url=$(PGPORT=$pg_port PGLISTEN=$(kubectl get node -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}') \
  bash "$scripts/postgres/postgres.sh" start "$pg_dir" | tail -n 1)
(cd "$root" && values "{\"type\":\"postgres\",\"postgres\":{\"url\":\"$pg_url\"}}") > "$work/postgres.json"
s=$(date +%s)
helm install kubevend "$root/helm/kubevend" -n kubevend-pg --create-namespace -f "$work/postgres.json" --set replicaCount=2 --wait --timeout 5m >/dev/null \
  || { kubectl -n kubevend-pg describe pods | tail -n 30 >&2; fail "helm install (PostgreSQL)"; }
record "helm install (PostgreSQL, 2 replicas): Ready in $(( $(date +%s) - s ))s; $(pod_start_line kubevend-pg)"
svc="http://$(kubectl -n kubevend-pg get service kubevend -o jsonpath='{.spec.clusterIP}:{.spec.ports[0].port}')"
# Jobs that each open a connection, and one client that keeps its connections alive.
steady "$svc" "$work/steady-postgres.json"
steady "$svc" "$work/steady-postgres-keepalive.json" --keep-alive
s=$(date +%s)
helm upgrade kubevend "$root/helm/kubevend" -n kubevend-pg -f "$work/postgres.json" --set replicaCount=2 --set config.logLevel=debug --wait --timeout 5m >/dev/null \
  || fail "helm upgrade (PostgreSQL)"
kubectl -n kubevend-pg rollout status deployment/kubevend --timeout 5m >/dev/null
upgrade_s=$(( $(date +%s) - s )); s=$(date +%s)
kubectl -n kubevend-pg rollout restart deployment/kubevend >/dev/null
kubectl -n kubevend-pg rollout status deployment/kubevend --timeout 5m >/dev/null
# The last old pod leaves the endpoints during its preStop delay: keep the load on past it.
sleep 15
stop_steady
record "helm upgrade ${upgrade_s}s + rollout restart $(( $(date +%s) - s ))s (PostgreSQL, 2 replicas) under steady requests"
for run in steady-postgres steady-postgres-keepalive; do
  record "  $run: $(cat "$work/$run.json")"
  grep -q '"failed":0,' "$work/$run.json" || fail "requests were lost during the upgrade or the restart ($run)"
done
helm uninstall kubevend -n kubevend-pg --wait --timeout 2m >/dev/null

say "done in $(( $(date +%s) - t0 ))s"
record "e2e:install: passed in $(( $(date +%s) - t0 ))s"
