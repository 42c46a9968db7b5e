#!/bin/sh
# Build and smoke-test the Strongroom image with no network inside the build: for a machine that
# reaches Debian's mirror and PyPI (here only through a TLS-intercepting proxy the build container does
# not trust) but no container registry. Needs root, docker with dockerd running, debootstrap, and the
# project's .venv (its pip fetches the wheels). Not run by CI (about 20 minutes, several GB of disk).
#
#   dockerd --storage-driver=overlay2 --iptables=false --bridge=none >/var/tmp/dockerd.log 2>&1 &  # if none
#   (vfs where overlayfs cannot be mounted; apt-get install docker.io where only a client is installed)
#   sh deploy/build-image.sh [workdir]            # KEEP=1 leaves the smoke containers running
#
# 1. a Debian bookworm base made with debootstrap on the host, with every system package the runtime
#    needs, imported into docker;
# 2. every wheel (-c constraints.txt, the image's extras) fetched on the host into deploy/wheels/;
# 3. `docker build --network=none` of deploy/Containerfile on that base: pip installs --no-index from
#    the wheels and apt is not needed, so nothing in the build touches the network;
# 4. the image run as its own user (10001) with --read-only, a tmpfs /tmp and a volume for the data
#    directory: /healthz and /readyz, the tools (LibreOffice included) run as that user, a token from
#    `strongroom users create --token` (docker exec), an upload and download round trip, a worker
#    container as deploy/compose.yaml runs it and a Word document's PDF preview, and writes outside the
#    data directory and /tmp refused.
# Ran to the end 2026-12-02 with LibreOffice (docker 20.10, overlay2, busy: base 11 min, then this
# script 7 min; image 1.55 GB: base 991 MB, virtual environment 558 MB): docs/ops/deployment.md,
# "Building the image offline".
set -eu
WORK=${1:-/var/tmp/strongroom-image}
HERE=$(cd "$(dirname "$0")/.." && pwd)
EXTRAS=postgres,s3,azure,sso
PORT=18000
mkdir -p "$WORK"

# 1. The base: Python 3.11 (what the app is tested with) and the tools the final stage would otherwise
#    apt-get (ffmpeg, tesseract, poppler-utils, fonts, tini). Package caches and lists, documentation
#    but not the copyright files, and manual pages are dropped before the import: the image never runs apt.
if ! docker image inspect strongroom-base:bookworm >/dev/null 2>&1; then
  rm -rf "$WORK/root"
  debootstrap --variant=minbase \
    --include=python3,python3-venv,ca-certificates,ffmpeg,tini,tesseract-ocr,tesseract-ocr-eng,poppler-utils,fonts-dejavu-core,fonts-droid-fallback,libreoffice-writer-nogui,libreoffice-calc-nogui,libreoffice-impress-nogui \
    bookworm "$WORK/root" http://deb.debian.org/debian
  rm -rf "$WORK"/root/var/cache/apt/*.bin "$WORK"/root/var/cache/apt/archives/*.deb \
    "$WORK"/root/var/lib/apt/lists/* "$WORK"/root/usr/share/man/* "$WORK"/root/usr/share/info/*
  find "$WORK/root/usr/share/doc" -type f ! -name copyright -delete  # the licences stay
  tar --numeric-owner -C "$WORK/root" -c . | docker import - strongroom-base:bookworm
  rm -rf "$WORK/root"
fi

# 2. The wheels, resolved by the host's pip for this platform (the host is bookworm's glibc 2.36 and
#    CPython 3.11, as the base is); binary wheels only, so nothing is compiled against the host. Plus
#    setuptools: the build makes Strongroom's own wheel from src/ (pyproject's build-system).
find "$HERE/deploy/wheels" -name '*.whl' -delete
"$HERE/.venv/bin/python" -m pip wheel -q -c "$HERE/constraints.txt" --only-binary=:all: \
  -w "$HERE/deploy/wheels" "$HERE[$EXTRAS]"
rm -f "$HERE"/deploy/wheels/strongroom-*.whl
rm -rf "$HERE/build"  # setuptools' in-tree build folder from the line above
"$HERE/.venv/bin/python" -m pip download -q --no-deps --only-binary=:all: -d "$HERE/deploy/wheels" 'setuptools>=77'

# 3. The image, with no network at all.
docker build --network=none --build-arg BASE=strongroom-base:bookworm --build-arg EXTRAS="$EXTRAS" \
  -f "$HERE/deploy/Containerfile" -t strongroom:local "$HERE"
docker image ls strongroom:local

# 4. Run it as the Containerfile's user, read-only root, /tmp a tmpfs, data in a volume; then use it.
#    --network host: dockerd runs with --bridge=none here, so there is no port publishing.
docker rm -f strongroom-smoke >/dev/null 2>&1 || true
docker volume rm strongroom-smoke-data >/dev/null 2>&1 || true
docker run -d --name strongroom-smoke --network host --read-only --tmpfs /tmp \
  --cap-drop ALL --security-opt no-new-privileges \
  -v strongroom-smoke-data:/var/lib/strongroom \
  -e STRONGROOM_DEV_MODE=1 -e STRONGROOM_SERVER__HOST=127.0.0.1 -e STRONGROOM_SERVER__PORT=$PORT \
  strongroom:local serve
[ "$(docker exec strongroom-smoke id -u)" = 10001 ]   # not root
for _ in $(seq 1 180); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS -o /dev/null -w 'healthz %{http_code}\n' "http://127.0.0.1:$PORT/healthz"
curl -fsS -o /dev/null -w 'readyz %{http_code}\n' "http://127.0.0.1:$PORT/readyz"
# Each tool, run as the app user (docker exec runs as the image's USER): LibreOffice with a throwaway
# profile in /tmp, as content/office.py runs it, since the user's home is the data volume.
docker exec strongroom-smoke sh -c 'ffmpeg -hide_banner -version | head -1; tesseract --version 2>&1 | head -1; pdftoppm -v 2>&1 | head -1
  soffice -env:UserInstallation=file:///tmp/lo-probe --headless --version; rm -rf /tmp/lo-probe'

TOKEN=$(docker exec strongroom-smoke strongroom users create smoke@force.example --token)
head -c 3000000 /dev/urandom >"$WORK/sample.bin"
UPLOADED=$(curl -fsS -T "$WORK/sample.bin" -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:$PORT/api/v1/folders/root/files/sample.bin")
echo "upload: $UPLOADED"
FILE_ID=$(printf '%s' "$UPLOADED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -fsS -H "Authorization: Bearer $TOKEN" -o "$WORK/sample.back" \
  "http://127.0.0.1:$PORT/api/v1/files/$FILE_ID/content"
cmp "$WORK/sample.bin" "$WORK/sample.back" && echo "round trip: $(sha256sum <"$WORK/sample.back")"

# A Word document's PDF preview, with a worker started as deploy/compose.yaml starts one (`worker`, same
# image and restrictions, same data volume: the embedded SQLite database is shared through it).
# `serve` runs a worker thread too, so either may convert it; `docker top` shows which one ran soffice.
docker rm -f strongroom-smoke-worker >/dev/null 2>&1 || true
docker run -d --name strongroom-smoke-worker --network host --read-only --tmpfs /tmp \
  --cap-drop ALL --security-opt no-new-privileges --no-healthcheck \
  -v strongroom-smoke-data:/var/lib/strongroom -e STRONGROOM_DEV_MODE=1 \
  strongroom:local worker >/dev/null
"$HERE/.venv/bin/python" -c 'import sys, docx
document = docx.Document()
document.add_heading("Strongroom image smoke test", level=1)
document.add_paragraph("A Word document previewed by LibreOffice inside the container.")
document.save(sys.argv[1])' "$WORK/sample.docx"
DOC_ID=$(curl -fsS -T "$WORK/sample.docx" -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:$PORT/api/v1/folders/root/files/sample.docx" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -fsS -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/files/$DOC_ID/preview"; echo
STATE=
for _ in $(seq 1 600); do
  for container in strongroom-smoke strongroom-smoke-worker; do
    docker top "$container" -o pid,args 2>/dev/null | grep -q '[s]office' && echo "soffice running in $container"
  done
  STATE=$(curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/files/$DOC_ID/preview/state")
  case "$STATE" in *'"state":"queued"'*) sleep 0.3 ;; *) break ;; esac
done | sort -u  # one line per container that ran it
STATE=$(curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/files/$DOC_ID/preview/state")
echo "preview: $STATE"
curl -fsS -H "Authorization: Bearer $TOKEN" -o "$WORK/sample.pdf" "http://127.0.0.1:$PORT/api/v1/files/$DOC_ID/preview"
[ "$(head -c 5 "$WORK/sample.pdf")" = '%PDF-' ]
docker exec -i strongroom-smoke sh -c 'cat >/tmp/preview.pdf && pdftotext /tmp/preview.pdf - && rm /tmp/preview.pdf' \
  <"$WORK/sample.pdf" | grep -q 'Strongroom image smoke test'
echo "preview PDF: $(wc -c <"$WORK/sample.pdf") bytes; worker: $(docker logs strongroom-smoke-worker 2>&1 | head -1)"

# Writable: the data volume and /tmp. Refused, even to root in the container: everything else.
docker exec strongroom-smoke sh -c 'touch /var/lib/strongroom/probe /tmp/probe && rm /var/lib/strongroom/probe /tmp/probe'
for path in /opt/strongroom/probe /etc/probe /var/tmp/probe /probe; do
  if docker exec -u 0 strongroom-smoke touch "$path" 2>/dev/null; then
    echo "FAIL: $path was writable"; exit 1
  fi
done
docker exec -u 0 strongroom-smoke touch /etc/probe 2>&1 | grep -q 'Read-only file system'
echo "read-only root: writes outside /var/lib/strongroom and /tmp refused"

rm -f "$WORK/sample.bin" "$WORK/sample.back" "$WORK/sample.docx" "$WORK/sample.pdf"
if [ "${KEEP:-0}" != 1 ]; then
  docker rm -f strongroom-smoke strongroom-smoke-worker >/dev/null
  docker volume rm strongroom-smoke-data >/dev/null
fi
echo "smoke test passed"
