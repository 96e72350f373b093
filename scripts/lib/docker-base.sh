# Sourced by the Docker scripts: chooses the base images of Dockerfile.enclave and sets
# BUILD_IMAGE and RUNTIME_IMAGE. Order: KEYCAST_BUILD_IMAGE / KEYCAST_RUNTIME_IMAGE if set; else
# the Dockerfile's pinned digests if present or pullable; else local ones built from Debian
# packages by scripts/docker-base-images (machines without a container registry).
# Usage: keycast_docker_base_images ROOT
keycast_docker_base_images() {
  local root="$1" b r
  b=$(sed -n 's/^ARG BUILD_IMAGE=//p' "$root/Dockerfile.enclave")
  r=$(sed -n 's/^ARG RUNTIME_IMAGE=//p' "$root/Dockerfile.enclave")
  BUILD_IMAGE="${KEYCAST_BUILD_IMAGE:-}"
  RUNTIME_IMAGE="${KEYCAST_RUNTIME_IMAGE:-}"
  if [ -n "$BUILD_IMAGE" ] && [ -n "$RUNTIME_IMAGE" ]; then return 0; fi
  if { docker image inspect "$b" >/dev/null 2>&1 || timeout 120 docker pull -q "$b" >/dev/null 2>&1; } \
     && { docker image inspect "$r" >/dev/null 2>&1 || timeout 120 docker pull -q "$r" >/dev/null 2>&1; }; then
    BUILD_IMAGE="${BUILD_IMAGE:-$b}"; RUNTIME_IMAGE="${RUNTIME_IMAGE:-$r}"
    return 0
  fi
  echo "keycast: the pinned base images cannot be pulled here: using local ones built from Debian packages (scripts/docker-base-images)" >&2
  local out
  out=$("$root/scripts/docker-base-images" --print) || return 1
  local lb lr
  lb=$(sed -n 's/^BUILD_IMAGE=//p' <<<"$out"); lr=$(sed -n 's/^RUNTIME_IMAGE=//p' <<<"$out")
  BUILD_IMAGE="${KEYCAST_BUILD_IMAGE:-$lb}"; RUNTIME_IMAGE="${KEYCAST_RUNTIME_IMAGE:-$lr}"
}
