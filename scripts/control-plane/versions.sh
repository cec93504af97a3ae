# Pinned versions of the local control plane, sourced by the control-plane scripts.
K8S_VERSION=${K8S_VERSION:-v1.37.2}
KUBEVEND_CACHE=${KUBEVEND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubevend}
