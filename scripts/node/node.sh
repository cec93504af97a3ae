#!/usr/bin/env bash
# A real, throwaway Kubernetes node on this machine, with a control plane of its own: the control
# plane (control-plane.sh, listening on the node's bridge), kube-scheduler, a second
# kube-controller-manager with the workload controllers, containerd v2 with Debian's runc, the
# kubelet, kube-proxy (iptables), and Debian's CNI plugins (bridge + host-local).
#
#   node.sh start DIR     start everything, import the pause image, wait for the node to be Ready;
#                         prints the admin kubeconfig's path on its last line
#   node.sh import DIR IMAGE...   copy images from buildah's storage into the node's containerd
#   node.sh stop DIR      stop pods, processes, mounts, interfaces and iptables rules started for DIR
#
# Nothing leaves the machine: pods live on a bridge only this machine routes (NODE_CIDR), the node's IP
# and kube-apiserver's address are the bridge's, the Service range is routed into a second bridge with
# no ports (traffic that kube-proxy did not rewrite goes nowhere; this kernel may lack the dummy
# interface), and pod traffic to any other interface is dropped. Ports are off the defaults of the shared control plane and of a real node.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
scripts=$(cd "$here/.." && pwd)
# shellcheck source=../image/common.sh
source "$scripts/image/common.sh"
# shellcheck source=../control-plane/versions.sh
source "$scripts/control-plane/versions.sh"

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: node.sh start|import|stop DIR [IMAGE...]" >&2; exit 2; }
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)

export ETCD_PORT=${ETCD_PORT:-23990} ETCD_PEER_PORT=${ETCD_PEER_PORT:-24000} APISERVER_PORT=${APISERVER_PORT:-16643}
node_cidr=${NODE_CIDR:-10.244.0.0/24}
node_ip=${node_cidr%.*}.1
service_cidr=10.96.0.0/16
bridge=${NODE_BRIDGE:-kvbr0}
dummy=${NODE_SERVICE_IF:-kvsvc0}
node_name=${NODE_NAME:-kubevend-node}
k8s_bin="$KUBEVEND_CACHE/kubernetes/$K8S_VERSION/bin"
ctrd_sock="$dir/containerd/containerd.sock"
kubectl() { "$k8s_bin/kubectl" --kubeconfig "$dir/cluster/admin.kubeconfig" "$@"; }
ctr_() { "$ctrd_bin/ctr" --address "$ctrd_sock" --namespace k8s.io "$@"; }
log() { echo ">> [$(( $(date +%s) - t0 ))s] $*" >&2; }
t0=$(date +%s)

start_bg() { # NAME CMD...: runs CMD in the background, logs to DIR/logs/NAME.log, pid in DIR/NAME.pid
  local name=$1; shift
  "$@" > "$dir/logs/$name.log" 2>&1 &
  echo $! > "$dir/$name.pid"
}

stop_pid() {
  local pidfile="$dir/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

wait_for() { # SECONDS WHAT CMD...: retries CMD until it succeeds
  local secs=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "node.sh: $what not after ${secs}s" >&2; return 1; }
    sleep 1
  done
}

network_up() {
  ip link show "$bridge" >/dev/null 2>&1 || ip link add "$bridge" type bridge
  ip addr replace "$node_ip/${node_cidr#*/}" dev "$bridge"
  ip link set "$bridge" up
  ip link show "$dummy" >/dev/null 2>&1 || ip link add "$dummy" type bridge
  ip link set "$dummy" up
  ip route replace "$service_cidr" dev "$dummy"
  iptables -C FORWARD -s "$node_cidr" ! -o "$bridge" -j DROP 2>/dev/null \
    || iptables -I FORWARD -s "$node_cidr" ! -o "$bridge" -j DROP
}

network_down() {
  iptables -D FORWARD -s "$node_cidr" ! -o "$bridge" -j DROP 2>/dev/null || true
  ip link del "$dummy" 2>/dev/null || true
  ip link del "$bridge" 2>/dev/null || true
}

write_configs() {
  mkdir -p "$dir/containerd" "$dir/cni/net.d" "$dir/kubelet"
  cat > "$dir/containerd/config.toml" <<TOML
version = 3
root = "$dir/containerd/root"
state = "$dir/containerd/state"
[grpc]
  address = "$ctrd_sock"
[ttrpc]
  address = "$ctrd_sock.ttrpc"
[plugins.'io.containerd.nri.v1.nri']
  disable = true
[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = "$pause_image"
[plugins.'io.containerd.cri.v1.runtime']
  # Root here may lack CAP_SYS_RESOURCE: the kubelet's negative OOM scores (-998 for sandboxes) would
  # make runc fail; they are raised to containerd's own instead.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$dir/containerd/runc"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$dir/cni/net.d"
TOML
  cat > "$dir/cni/net.d/10-kubevend.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "kubevend-node",
  "plugins": [
    { "type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$node_cidr", "gateway": "$node_ip" }]],
                "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$dir/cni/ipam" } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
  # This machine mounts cgroup v1 (cgroupfs driver); evictions off, its ports off the defaults; no
  # webhook authentication towards the apiserver: the kubelet listens on the node's bridge only.
  cat > "$dir/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$ctrd_sock
failSwapOn: false
address: $node_ip
port: 20250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 20248
authentication: { anonymous: { enabled: true }, webhook: { enabled: false } }
authorization: { mode: AlwaysAllow }
evictionHard: { memory.available: "1Mi", nodefs.available: "0%", imagefs.available: "0%", nodefs.inodesFree: "0%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
resolvConf: /etc/resolv.conf
serializeImagePulls: false
YAML
}

import_images() { # IMAGE...: from buildah's storage into containerd's k8s.io namespace
  local image archive
  for image in "$@"; do
    archive=$(mktemp "${TMPDIR:-/tmp}/kubevend-image.XXXXXX")
    podman_ save --format docker-archive -o "$archive" "$image" >/dev/null 2>&1 || { rm -f "$archive"; return 1; }
    ctr_ images import "$archive" >/dev/null 2>&1 || { rm -f "$archive"; echo "node.sh: ctr could not import $image" >&2; return 1; }
    rm -f "$archive"
  done
}

start() {
  trap 'rc=$?; if [ "$rc" -ne 0 ]; then echo "node.sh: start failed; logs in $dir/logs" >&2; stop; fi; exit "$rc"' EXIT
  "$scripts/ensure-packages.sh" runc=runc /usr/lib/cni/bridge=containernetworking-plugins iptables=iptables \
    conntrack=conntrack buildah=buildah podman=podman gcc=gcc
  ctrd_bin=$("$here/build.sh" | tail -n 1)
  pause_image=$("$scripts/image/pause.sh" | tail -n 1)
  stop
  mkdir -p "$dir/logs"
  log "network: bridge $bridge ($node_ip), service range $service_cidr into $dummy (no ports)"
  network_up
  write_configs

  log "control plane on $node_ip:$APISERVER_PORT"
  APISERVER_ADDRESS=$node_ip "$scripts/control-plane/control-plane.sh" start "$dir/cluster" >/dev/null
  local admin="$dir/cluster/admin.kubeconfig"
  start_bg kube-scheduler "$k8s_bin/kube-scheduler" --kubeconfig "$admin" --leader-elect=false \
    --secure-port 0 --profiling=false
  start_bg kube-controller-manager-workloads "$k8s_bin/kube-controller-manager" --kubeconfig "$admin" \
    --controllers deployment-controller,replicaset-controller,endpointslice-controller,persistentvolume-binder-controller,pod-garbage-collector-controller,disruption-controller \
    --leader-elect=false --secure-port 0

  log "containerd"
  PATH="$ctrd_bin:$PATH" start_bg containerd "$ctrd_bin/containerd" --config "$dir/containerd/config.toml"
  wait_for 60 "containerd" ctr_ version
  import_images "$pause_image"

  log "kubelet"
  start_bg kubelet "$k8s_bin/kubelet" --config "$dir/kubelet/config.yaml" --kubeconfig "$admin" \
    --root-dir "$dir/kubelet/root" --cert-dir "$dir/kubelet/pki" --node-ip "$node_ip" \
    --hostname-override "$node_name"
  start_bg kube-proxy "$k8s_bin/kube-proxy" --kubeconfig "$admin" --hostname-override "$node_name" \
    --proxy-mode iptables --cluster-cidr "$node_cidr" --bind-address "$node_ip" \
    --metrics-bind-address 127.0.0.1:20249 --healthz-bind-address 127.0.0.1:20256 --conntrack-max-per-core 0
  wait_for 120 "node $node_name Ready" kubectl wait --for=condition=Ready "node/$node_name" --timeout=5s
  # The kubelet registers with this taint; the node lifecycle controller (not run here) lifts it.
  kubectl taint node "$node_name" node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
  log "node $node_name Ready"
  trap - EXIT
  echo "$admin"
}

stop() {
  local admin="$dir/cluster/admin.kubeconfig"
  ctrd_bin=${ctrd_bin:-$KUBEVEND_CACHE/containerd/unknown}
  # Pods first, while the kubelet runs: it stops their sandboxes, which frees their network namespaces.
  if [ -f "$dir/kubelet.pid" ] && kill -0 "$(cat "$dir/kubelet.pid")" 2>/dev/null; then
    kubectl delete deployments,replicasets,jobs --all-namespaces --all --wait=false >/dev/null 2>&1 || true
    kubectl delete pods --all-namespaces --all --grace-period=1 --wait=false >/dev/null 2>&1 || true
    wait_for 60 "pods gone" sh -c "! \"$k8s_bin/kubectl\" --kubeconfig \"$admin\" get pods -A -o name 2>/dev/null | grep -q ." || true
  fi
  stop_pid kube-proxy
  [ -x "$k8s_bin/kube-proxy" ] && "$k8s_bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
  stop_pid kubelet
  # Whatever containers are left, then their shims, then containerd.
  if [ -d "$dir/containerd/runc/k8s.io" ]; then
    for id in $(runc --root "$dir/containerd/runc/k8s.io" list -q 2>/dev/null); do
      runc --root "$dir/containerd/runc/k8s.io" kill -a "$id" KILL 2>/dev/null || true
      runc --root "$dir/containerd/runc/k8s.io" delete -f "$id" 2>/dev/null || true
    done
  fi
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $ctrd_sock" || true); do kill "$pid" 2>/dev/null || true; done
  stop_pid containerd
  stop_pid kube-controller-manager-workloads
  stop_pid kube-scheduler
  "$scripts/control-plane/control-plane.sh" stop "$dir/cluster" >/dev/null 2>&1 || true
  # Mounts the kubelet and containerd left under DIR, deepest first.
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [ -f "$dir/netns.before" ] && grep -qx "$ns" "$dir/netns.before" && continue
    case "$ns" in cni-*) [ -f "$dir/netns.before" ] && ip netns del "$ns" 2>/dev/null || true ;; esac
  done
  network_down
  # The chains the kubelet adds for itself (kube-proxy --cleanup removed kube-proxy's).
  for ipt in iptables ip6tables; do
    for hook in INPUT OUTPUT; do "$ipt" -D "$hook" -j KUBE-FIREWALL 2>/dev/null || true; done
    "$ipt" -F KUBE-FIREWALL 2>/dev/null && "$ipt" -X KUBE-FIREWALL 2>/dev/null || true
    for table in filter nat mangle; do
      for chain in KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do "$ipt" -t "$table" -X "$chain" 2>/dev/null || true; done
    done
  done
  # cgroups the kubelet made (empty once the pods are gone).
  find /sys/fs/cgroup/*/kubepods* -depth -type d -exec rmdir {} + 2>/dev/null || true
  rm -rf "$dir/containerd" "$dir/kubelet" "$dir/cni"
}

case "$cmd" in
  start) ip netns list 2>/dev/null | awk '{print $1}' > "$dir/netns.before.tmp"; start; mv "$dir/netns.before.tmp" "$dir/netns.before" ;;
  import) shift 2; ctrd_bin=$("$here/build.sh" | tail -n 1); import_images "$@" ;;
  stop) stop; rm -f "$dir/netns.before" ;;
  *) echo "usage: node.sh start|import|stop DIR [IMAGE...]" >&2; exit 2 ;;
esac
