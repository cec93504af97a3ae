#!/usr/bin/env bash
# A real, throwaway Kubernetes control plane on loopback: etcd, kube-apiserver (RBAC) and
# kube-controller-manager (token, service-account, role-aggregation, namespace, root-CA and garbage-
# collector controllers).
#
#   control-plane.sh start DIR   build what is missing, make the PKI, start everything, wait for /readyz,
#                                write DIR/admin.kubeconfig; prints the kubeconfig path on its last line
#   control-plane.sh stop DIR    stop everything started for DIR and remove etcd's data
#
# Ports come from ETCD_PORT, ETCD_PEER_PORT and APISERVER_PORT (defaults 23790, 23800, 16443).
# APISERVER_ADDRESS (default 127.0.0.1): where kube-apiserver listens and what it advertises; another
# local address (a node's bridge) lets pods reach it through the `kubernetes` Service.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: control-plane.sh start|stop DIR" >&2; exit 2; }
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)

etcd_port=${ETCD_PORT:-23790}
etcd_peer_port=${ETCD_PEER_PORT:-23800}
apiserver_port=${APISERVER_PORT:-16443}
address=${APISERVER_ADDRESS:-127.0.0.1}
# A loopback address cannot be the `kubernetes` Service's endpoint; any other address can.
reconciler=none; [ "$address" = 127.0.0.1 ] || reconciler=lease
shm=/dev/shm; [ -d "$shm" ] && [ -w "$shm" ] || shm=$dir
etcd_data="$shm/kubevend-etcd-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)"

stop() {
  for name in kube-controller-manager kube-apiserver etcd; do
    pidfile="$dir/$name.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  rm -rf "$etcd_data"
}

make_pki() {
  local pki="$dir/pki"
  [ -f "$pki/admin.crt" ] && return
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 \
      -subj "/CN=kubevend-test-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.96.0.1,IP:%s\nextendedKeyUsage=serverAuth\n' "$address" > apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt \
      -days 30 -extfile apiserver.ext 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr \
      -subj "/O=system:masters/CN=kubevend-test-admin" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > admin.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt \
      -days 30 -extfile admin.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

write_kubeconfig() {
  local pki="$dir/pki" b64='base64 -w0'
  cat > "$dir/admin.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster:
      server: https://$address:$apiserver_port
      certificate-authority-data: $($b64 < "$pki/ca.crt")
users:
  - name: admin
    user:
      client-certificate-data: $($b64 < "$pki/admin.crt")
      client-key-data: $($b64 < "$pki/admin.key")
contexts:
  - name: local
    context: { cluster: local, user: admin }
current-context: local
KC
  chmod 600 "$dir/admin.kubeconfig"
}

wait_ready() {
  local pki="$dir/pki" deadline=$(( $(date +%s) + 120 ))
  until curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
      "https://$address:$apiserver_port/readyz" >/dev/null 2>&1; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "control-plane.sh: kube-apiserver not ready after 120 s; last log lines:" >&2
      tail -n 20 "$dir/logs/kube-apiserver.log" >&2
      return 1
    fi
    kill -0 "$(cat "$dir/kube-apiserver.pid")" 2>/dev/null || {
      echo "control-plane.sh: kube-apiserver exited; last log lines:" >&2
      tail -n 20 "$dir/logs/kube-apiserver.log" >&2
      return 1
    }
    sleep 0.5
  done
}

start() {
  local bin pki="$dir/pki"
  # Whatever fails on the way, nothing started is left running.
  trap 'rc=$?; if [ "$rc" -ne 0 ]; then stop; fi; exit "$rc"' EXIT
  bin=$("$here/build.sh" | tail -n 1)
  "$here/../ensure-packages.sh" etcd=etcd-server openssl=openssl curl=curl
  stop
  make_pki
  mkdir -p "$dir/logs"
  ln -sf "$bin/kubectl" "$dir/kubectl"

  etcd --name kubevend --data-dir "$etcd_data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "kubevend=http://127.0.0.1:$etcd_peer_port" --listen-metrics-urls "" \
    --unsafe-no-fsync --log-level warn > "$dir/logs/etcd.log" 2>&1 &
  echo $! > "$dir/etcd.pid"

  "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address "$address" --advertise-address "$address" --secure-port "$apiserver_port" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --authorization-mode RBAC --service-cluster-ip-range 10.96.0.0/16 \
    --endpoint-reconciler-type "$reconciler" --profiling=false --kubelet-preferred-address-types InternalIP \
    --service-account-max-token-expiration 24h \
    > "$dir/logs/kube-apiserver.log" 2>&1 &
  echo $! > "$dir/kube-apiserver.pid"

  write_kubeconfig
  wait_ready

  "$bin/kube-controller-manager" \
    --kubeconfig "$dir/admin.kubeconfig" \
    --controllers serviceaccount-token-controller,serviceaccount-controller,clusterrole-aggregation-controller,namespace-controller,root-ca-certificate-publisher-controller,garbage-collector-controller \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --leader-elect=false --secure-port 0 \
    > "$dir/logs/kube-controller-manager.log" 2>&1 &
  echo $! > "$dir/kube-controller-manager.pid"

  # The controllers are ready once the default namespace has its default ServiceAccount.
  local deadline=$(( $(date +%s) + 60 ))
  until "$bin/kubectl" --kubeconfig "$dir/admin.kubeconfig" -n default get serviceaccount default >/dev/null 2>&1; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "control-plane.sh: kube-controller-manager did not start; last log lines:" >&2
      tail -n 20 "$dir/logs/kube-controller-manager.log" >&2
      return 1
    fi
    sleep 0.5
  done
  trap - EXIT
  echo "$dir/admin.kubeconfig"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: control-plane.sh start|stop DIR" >&2; exit 2 ;;
esac
