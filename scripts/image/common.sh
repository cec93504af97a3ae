# Sourced by the image scripts: buildah and podman without a daemon, as root, on vfs storage (works on
# any file system, no overlay or fuse needed) with chroot isolation for builds.
# shellcheck shell=bash
KUBEVEND_IMAGE=${KUBEVEND_IMAGE:-localhost/kubevend:dev}
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
buildah_() { buildah --storage-driver "$STORAGE_DRIVER" "$@"; }
podman_() { podman --storage-driver "$STORAGE_DRIVER" "$@"; }
