#!/usr/bin/env bash
# Install what snapkeep needs to build (`deps.sh build`) or to build and test (`deps.sh test`),
# from Debian's packages. As root: apt-get installs what is missing. Otherwise: print the exact
# command to run and fail.
set -euo pipefail
what=${1:-build}
build_pkgs=(gcc make pkg-config libc6-dev libsqlite3-dev libzstd-dev libssl-dev libcurl4-openssl-dev
            libconfig-dev libjansson-dev libzip-dev libpq-dev libexpat1-dev)
test_pkgs=(libcmocka-dev zlib1g-dev age zstd sqlite3 coreutils python3 procps time faketime curl docker-compose
           npm bzip2)  # npm: the PostgreSQL servers of other majors (tests/servers/pg.sh)
pkgs=("${build_pkgs[@]}")
[ "$what" = build ] || pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  # npm may come with another nodejs build (NodeSource's includes it); Debian's would conflict
  [ "$p" = npm ] && command -v npm >/dev/null && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "snapkeep: missing Debian packages: ${missing[*]}" >&2
  echo "install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "snapkeep: installing missing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
