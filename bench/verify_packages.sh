#!/usr/bin/env bash
# Large-file verification of the package store, on loopback: a 5 GiB tus upload (tuspy) whose
# server is SIGKILLed at about half and restarted, resumed to completion and checked against
# sha256sum/md5sum; `curl -C -` resuming a broken 1 GiB download; 16 concurrent curl downloads of
# a 1 GiB file with the server's peak RSS sampled. Everything is deleted afterwards.
# Usage: [SIZE_GIB=5] bash bench/verify_packages.sh [work dir]   (needs ~2.5 x SIZE_GIB GB free)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
size_gib=${SIZE_GIB:-5}
mkdir -p "$work"
trap 'kill -9 ${server:-0} 2>/dev/null || true; rm -rf "$work"' EXIT
export POMONA_DATA_DIR=$work/data POMONA_PORT=${PORT:-18731}
url=http://127.0.0.1:$POMONA_PORT

start() {
    # The server itself, not a wrapper process, so that kill -9 hits it.
    .venv/bin/pomona serve >>"$work/server.log" 2>&1 &
    server=$!
    until curl -sf -o /dev/null "$url/jamf/v1/"; do
        kill -0 "$server" 2>/dev/null || { echo "server did not start:"; cat "$work/server.log"; exit 1; }
        sleep 0.2
    done
}

start
token=$(uv run pomona token create --name bench --scope packages:write)
head -c $((size_gib * 1024 * 1024 * 1024)) /dev/urandom >"$work/big.pkg"
read -r sha _ < <(sha256sum "$work/big.pkg")
read -r md5 _ < <(md5sum "$work/big.pkg")

echo "== $size_gib GiB tus upload, server killed at about half"
uv run python - "$url" "$token" "$work/big.pkg" "$work/upload.url" <<'PY' &
import sys
from tusclient import client
url, token, path, store = sys.argv[1:]
uploader = client.TusClient(f"{url}/api/v1/uploads/", headers={"Authorization": f"Bearer {token}"}).uploader(
    path, chunk_size=64 * 1024 * 1024, metadata={"filename": "big.pkg"})
uploader.set_url(uploader.create_url())
uploader.offset = 0
open(store, "w").write(uploader.url)
try:
    uploader.upload()
except Exception as exc:
    print("upload interrupted:", type(exc).__name__, "at", uploader.offset)
PY
uploading=$!
until [ -s "$work/upload.url" ]; do sleep 0.2; done
half=$((size_gib * 1024 * 1024 * 1024 / 2))
until [ "$(stat -c %s "$work"/data/uploads/tus-*.part 2>/dev/null || echo 0)" -ge $half ]; do sleep 0.2; done
kill -9 "$server"
echo "server SIGKILLed with $(stat -c %s "$work"/data/uploads/tus-*.part) bytes received"
wait "$uploading" || true
start
uv run python - "$url" "$token" "$work/big.pkg" "$work/upload.url" <<'PY'
import sys, time
from tusclient import client
url, token, path, store = sys.argv[1:]
uploader = client.TusClient(f"{url}/api/v1/uploads/", headers={"Authorization": f"Bearer {token}"}).uploader(
    path, url=open(store).read(), chunk_size=64 * 1024 * 1024)
print("resuming at offset", uploader.offset)
started = time.monotonic()
uploader.upload()
print(f"resumed upload finished in {time.monotonic() - started:.1f} s")
PY
record=$(curl -sf -H "Authorization: Bearer $token" "$url/api/v1/packages/big.pkg")
echo "$record" | grep -q "\"sha256\":\"$sha\"" && echo "sha256 matches sha256sum: $sha"
echo "$record" | grep -q "\"md5\":\"$md5\"" && echo "md5 matches md5sum: $md5"
rm -f "$work/big.pkg"

echo "== curl -C - resumes a broken 1 GiB download"
head -c $((1024 * 1024 * 1024)) /dev/urandom >"$work/one.pkg"
curl -sf -T "$work/one.pkg" -H "Authorization: Bearer $token" "$url/api/v1/packages/one.pkg" >/dev/null
read -r one _ < <(sha256sum "$work/one.pkg")
rm -f "$work/one.pkg"
curl -s --limit-rate 50M --max-time 4 -o "$work/got.pkg" "$url/Packages/one.pkg" || true
echo "broken after $(stat -c %s "$work/got.pkg") bytes"
curl -sf -C - -o "$work/got.pkg" "$url/Packages/one.pkg"
read -r got _ < <(sha256sum "$work/got.pkg")
[ "$got" = "$one" ] && echo "resumed download matches: $got"
rm -f "$work/got.pkg"

echo "== 16 concurrent downloads of the 1 GiB file"
before=$(awk '/VmRSS/{print $2}' "/proc/$server/status")
peak=$before
pids=()
for i in $(seq 16); do curl -sf -o /dev/null "$url/Packages/one.pkg" & pids+=($!); done
started=$(date +%s.%N)
while kill -0 "${pids[@]}" 2>/dev/null; do
    now=$(awk '/VmRSS/{print $2}' "/proc/$server/status"); [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.1
done
wait "${pids[@]}"
echo "16 x 1 GiB served in $(echo "$(date +%s.%N) - $started" | bc) s"
echo "server RSS before: $((before / 1024)) MiB, peak during 16 downloads: $((peak / 1024)) MiB"
