#!/usr/bin/env bash
# Berth's container images, built without any image registry (these machines reach none):
#
#   scripts/containers.sh base     the base image (Debian bookworm + python3), from Debian packages
#   scripts/containers.sh build    base + Redis/PostgreSQL/HAProxy stand-ins + Berth's image
#   scripts/containers.sh berth    Berth's image only (on an imported base); prints its build time and size
#   scripts/containers.sh rootfs-path   where the cached base root filesystem is (bench.image checks it)
#   scripts/containers.sh test     `make test-containers`: a private engine and registry, build, then the
#                                  end-to-end test (tests/containers/), then stop everything it started
#
# base/build act on the engine at DOCKER_HOST. The base's root filesystem (mmdebstrap, ~45 s) and the
# stand-in images are cached in BERTH_IMAGE_CACHE (default /tmp/berth-image-cache), so reruns are fast.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

CACHE="${BERTH_IMAGE_CACHE:-/tmp/berth-image-cache}"
BASE_IMAGE="berth-base:bookworm"
BERTH_IMAGE="${BERTH_IMAGE:-berth:test}"
LOCAL_IMAGES=(redis postgres haproxy)

say() { echo "[containers] $*" >&2; }

# The mmdebstrap command is the cache key: change it and the root filesystem is built again.
# merged-usr hook: no usrmerge package (it pulls in perl, 47 MB). Documentation, manuals, translations,
# the "right/" time zones and gconv's charset modules stay out: the images never read them.
ROOTFS_ARGS=(
    --variant=apt --include=python3,python3-venv,ca-certificates,tzdata
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
    --aptopt='APT::Install-Recommends "false"'
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/zoneinfo/right/*'
    --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*'
    --dpkgopt='path-include=/usr/lib/x86_64-linux-gnu/gconv/gconv-modules*'
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log "$1"/var/log/apt/*'
    bookworm
)
ROOTFS_SOURCES=(
    "deb http://deb.debian.org/debian bookworm main"
    "deb http://deb.debian.org/debian bookworm-updates main"
    "deb http://deb.debian.org/debian-security bookworm-security main"
)
rootfs_key() { printf '%s\n' "${ROOTFS_ARGS[@]}" "${ROOTFS_SOURCES[@]}" | sha256sum | cut -c1-12; }
rootfs_path() { echo "$CACHE/rootfs-$(rootfs_key).tar"; }

# The legacy builder (Engine 20.10 here); host network for apt and pip in RUN steps: the engine has no bridge.
docker_build() { DOCKER_BUILDKIT=0 docker build -q --force-rm --network host "$@" >/dev/null; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

build_rootfs() {
    local tar
    tar="$(rootfs_path)"
    [[ -f "$tar" && -s "$tar" ]] && return 0
    # A folder where the tar belongs is what an earlier mmdebstrap left without --format=tar.
    [[ -d "$tar" ]] && rm -rf "$tar"
    if ! command -v mmdebstrap >/dev/null; then
        [[ "$(id -u)" == 0 ]] || { say "mmdebstrap is missing (apt-get install mmdebstrap)"; return 1; }
        say "installing mmdebstrap"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
    fi
    mkdir -p "$CACHE"
    say "building the base root filesystem from Debian packages (mmdebstrap, about a minute)"
    # The format said, not guessed from the name: "….tar.partial" would make a folder.
    rm -rf "$tar.partial"
    mmdebstrap --quiet --format=tar "${ROOTFS_ARGS[@]}" "$tar.partial" "${ROOTFS_SOURCES[@]}"
    mv "$tar.partial" "$tar"
}

cmd_base() {
    build_rootfs
    # The image carries the rootfs key: a stale base (built from other arguments) is replaced.
    local key
    key="$(rootfs_key)"
    if [[ "$(docker image inspect -f '{{index .Config.Labels "berth.rootfs"}}' "$BASE_IMAGE" 2>/dev/null)" == "$key" ]]; then
        return 0
    fi
    say "importing $BASE_IMAGE"
    docker import --change "LABEL berth.rootfs=$key" --change 'CMD ["/bin/bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$(rootfs_path)" "$BASE_IMAGE" >/dev/null
}

# Wheels built on the host: pip inside a build cannot verify this machine's proxy (README, "Run with Docker").
build_wheels() {
    local stamp="wheelhouse/.requirements.sha256" want
    want="$( (cat requirements.txt; /usr/bin/python3 -V) | sha256sum | cut -c1-64)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && compgen -G "wheelhouse/*.whl" >/dev/null; then return 0; fi
    say "building wheels for requirements.txt into wheelhouse/"
    rm -f wheelhouse/*.whl
    # With Debian's python3 (the image's): a newer Python on the host would resolve markers differently
    # (redis needs async-timeout below 3.11.3, and bookworm has 3.11.2).
    local venv="$CACHE/wheel-venv"
    if [[ ! -x "$venv/bin/pip" ]]; then
        if ! /usr/bin/python3 -c 'import ensurepip' 2>/dev/null && [[ "$(id -u)" == 0 ]]; then
            say "installing python3-venv (Debian's python3 makes the wheels)"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        fi
        mkdir -p "$CACHE"
        /usr/bin/python3 -m venv "$venv"
    fi
    "$venv/bin/pip" wheel -q --disable-pip-version-check -r requirements.txt -w wheelhouse
    echo "$want" >"$stamp"
}

# A stand-in image (Redis, PostgreSQL, HAProxy from Debian packages), saved in the cache so the next run on a
# fresh engine loads it in seconds instead of installing packages again.
build_local_image() {
    local name="$1" tag="berth-local/$1:bookworm" key tar
    key="$( (rootfs_key; cat deploy/local/"$name"/*) | sha256sum | cut -c1-12)"
    tar="$CACHE/$name-$key.tar"
    if image_exists "$tag" && [[ "$(docker image inspect -f '{{index .Config.Labels "berth.key"}}' "$tag")" == "$key" ]]; then
        return 0
    fi
    if [[ -s "$tar" ]]; then
        docker load -q -i "$tar" >/dev/null
        return 0
    fi
    say "building $tag from Debian packages"
    docker_build --build-arg BASE_IMAGE="$BASE_IMAGE" --label "berth.key=$key" -t "$tag" deploy/local/"$name"
    docker save -o "$tar.partial" "$tag" && mv "$tar.partial" "$tar"
}

build_berth() {
    build_wheels
    local started=$SECONDS version
    version="$(git describe --always --dirty 2>/dev/null || echo dev)"
    say "building $BERTH_IMAGE on $BASE_IMAGE"
    docker_build --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg BERTH_VERSION="$version" -t "$BERTH_IMAGE" .
    say "built $BERTH_IMAGE in $((SECONDS - started)) s, $(($(docker image inspect -f '{{.Size}}' "$BERTH_IMAGE") / 1000000)) MB"
}

cmd_build() {
    cmd_base
    local name
    for name in "${LOCAL_IMAGES[@]}"; do build_local_image "$name"; done
    build_berth
}

cmd_test() {
    scripts/install.sh test
    local venv="${BERTH_VENV:-.venv}"
    export PATH="$ROOT/$venv/bin:$PATH"
    export BERTH_PYTHON="$ROOT/$venv/bin/python"
    if ! command -v docker-compose >/dev/null; then
        [[ "$(id -u)" == 0 ]] || { say "docker-compose is missing (apt-get install docker-compose)"; return 1; }
        say "installing docker-compose (Debian's 1.29)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
    fi
    # Our own engine and registry, in a folder of our own, stopped on exit whatever happens.
    export BERTH_SERVICES_DIR="/tmp/bc-$$"
    free_port() { "$BERTH_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    export BERTH_REGISTRY_PORT="$(free_port)"
    cleanup() {
        # The test takes its stack down itself; this is the safety net after a failure or Ctrl-C.
        if [[ -n "${BERTH_E2E_PROJECT:-}" && -S "$BERTH_SERVICES_DIR/e/docker.sock" ]]; then
            DOCKER_HOST="unix://$BERTH_SERVICES_DIR/e/docker.sock" docker-compose -p "$BERTH_E2E_PROJECT" \
                -f compose.yaml -f tests/containers/compose.host.yaml down -v --remove-orphans >/dev/null 2>&1 || true
        fi
        scripts/services.sh stop registry engine || true
        rm -rf "$BERTH_SERVICES_DIR"
    }
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    scripts/services.sh start engine registry
    eval "$(scripts/services.sh env)"
    export BERTH_E2E_PROJECT="berthe2e$$"
    local started=$SECONDS
    cmd_build
    say "images ready in $((SECONDS - started)) s"
    export BERTH_E2E=1 BERTH_E2E_IMAGE="$BERTH_IMAGE"
    # pytest-django loads the settings even though these tests only drive containers.
    export BERTH_DATA_DIR="$BERTH_SERVICES_DIR/data" DJANGO_SECRET_KEY="e2e-only-$$" BERTH_MANIFEST_STATIC=0
    python -m pytest tests/containers "$@"
}

case "${1:-}" in
    base) shift; cmd_base ;;
    berth) shift; image_exists "$BASE_IMAGE" || { say "no $BASE_IMAGE on this engine: run base first"; exit 1; }; build_berth ;;
    rootfs-path) rootfs_path ;;
    build) shift; cmd_build ;;
    test) shift; cmd_test "$@" ;;
    *) echo "usage: $0 base|build|berth|rootfs-path|test [pytest args]" >&2; exit 2 ;;
esac
