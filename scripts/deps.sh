#!/usr/bin/env bash
# Install what snapkeep needs to build (`deps.sh build`), to build and test (`deps.sh test`) or to
# build the fuzz harnesses (`deps.sh fuzz`: clang and libFuzzer; `test` includes them for the smoke run),
# from Debian's packages. As root: apt-get installs what is missing. Otherwise: print the exact
# command to run and fail.
set -euo pipefail
what=${1:-build}
build_pkgs=(gcc make pkg-config libc6-dev libsqlite3-dev libzstd-dev libssl-dev libcurl4-openssl-dev
            libconfig-dev libjansson-dev libzip-dev libpq-dev libexpat1-dev)
fuzz_pkgs=(clang libfuzzer-14-dev libclang-rt-14-dev)
# npm: the PostgreSQL servers of other majors (tests/servers/pg.sh)
test_pkgs=(libcmocka-dev zlib1g-dev age zstd sqlite3 coreutils python3 procps time faketime curl docker-compose
           npm bzip2 "${fuzz_pkgs[@]}")
pkgs=("${build_pkgs[@]}")
case "$what" in
  build) ;;
  fuzz) pkgs+=("${fuzz_pkgs[@]}") ;;
  *) pkgs+=("${test_pkgs[@]}") ;;
esac

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
