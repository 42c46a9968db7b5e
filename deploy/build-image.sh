#!/bin/sh
# Build and smoke-test the Strongroom image where no container registry is reachable (only Debian's
# mirror and PyPI): a bookworm base made with debootstrap, imported into Docker, then deploy/Containerfile
# built on it (BASE build argument), run non-root with a read-only root and a tmpfs /tmp, and /healthz
# and /readyz asked. Needs root, docker (dockerd running) and debootstrap. Not run by CI.
#
#   dockerd --storage-driver=vfs --iptables=false --bridge=none >dockerd.log 2>&1 &   # if none runs
#   sh deploy/build-image.sh [workdir]
#
# Tried 2026-12-02 on the project's build machine: dockerd (vfs) ran, step 1 made and imported the base,
# step 2 stopped at `pip install` because that machine reaches PyPI only through a TLS-intercepting proxy
# whose CA the build container does not trust. Steps 2 and 3 have not yet run to the end anywhere.
set -eu
WORK=${1:-/tmp/strongroom-image}
HERE=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"

# 1. A Debian base with the Python 3.11 the app is tested with (and what the final stage installs).
if ! docker image inspect strongroom-base:bookworm >/dev/null 2>&1; then
  debootstrap --variant=minbase --include=python3,python3-venv,ffmpeg,tini,ca-certificates \
    bookworm "$WORK/root" http://deb.debian.org/debian
  tar -C "$WORK/root" -c . | docker import - strongroom-base:bookworm
fi

# 2. The image. --network host: with --bridge=none the build's RUN steps reach PyPI and Debian only so.
docker build --network host --build-arg BASE=strongroom-base:bookworm \
  -f "$HERE/deploy/Containerfile" -t strongroom:local "$HERE"

# 3. Run it as the Containerfile's user, read-only, /tmp a tmpfs, data in a volume; then ask it.
docker rm -f strongroom-smoke >/dev/null 2>&1 || true
docker run -d --name strongroom-smoke --network host --read-only --tmpfs /tmp \
  -v strongroom-smoke-data:/var/lib/strongroom \
  -e STRONGROOM_DEV_MODE=1 -e STRONGROOM_SERVER__HOST=127.0.0.1 -e STRONGROOM_SERVER__PORT=18000 \
  strongroom:local serve
docker exec strongroom-smoke id -u | grep -qv '^0$'   # not root
for _ in $(seq 1 120); do
  curl -fsS http://127.0.0.1:18000/healthz >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS http://127.0.0.1:18000/healthz && echo
curl -fsS http://127.0.0.1:18000/readyz && echo
docker rm -f strongroom-smoke >/dev/null
docker volume rm strongroom-smoke-data >/dev/null
