#!/usr/bin/env bash
# pgregress.sh: PostgreSQL's own regression database of a server major, for dump/restore tests.
#
#   tests/servers/pgregress.sh fetch MAJOR...         sources (+ headers) of the suites, cached
#   tests/servers/pgregress.sh load MAJOR DB WORKDIR  create DB and run the suite into it
#
# `load` needs the PG* environment of a running server of MAJOR (tests/servers/pg.sh env) and prints
# one line: the suite used, whether regress.so was built, the tables and the seconds it took.
#
# Suites come from Debian's source packages through a private sources list (the system's apt
# configuration stays untouched), cached in build/pg-regress-src/<package>-<version>/ with the
# matching server headers (postgresql-server-dev-<major>, unpacked, never installed), which build
# regress.so for the tests' C functions. A major without a Debian package of its own uses the
# nearest suite and goes without regress.so (a module only loads into the major it was built for):
#   13 -> postgresql-13 (bullseye)      14 -> postgresql-13       15 -> postgresql-15 (bookworm, its
#   newest source)   16 -> postgresql-15   17 -> postgresql-17 (trixie), or postgresql-18 when
#   the mirror does not serve it   18 -> postgresql-18 (sid)
# The suite runs with Debian's pg_regress and psql 15 against every major, the parallel schedule
# two connections at a time; the tests of psql itself are left out (psql 15 loops forever on newer
# \watch syntax). Failing test outputs do not matter: the database the suite leaves is the point.
set -Eeuo pipefail
trap 'echo "pgregress.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=$root/build/pg-regress-src
die() { echo "pgregress.sh: $*" >&2; exit 1; }

suites() { # major -> candidate "package suite" lines, best first
    case "$1" in
    13 | 14) echo "postgresql-13 bullseye" ;;
    15 | 16) echo "postgresql-15 bookworm" ;;
    17) echo "postgresql-17 trixie"; echo "postgresql-18 sid" ;;
    18) echo "postgresql-18 sid" ;;
    *) die "no regression suite for major $1 (13..18)" ;;
    esac
}

cached() { # package -> its cache directory, if complete
    local d
    for d in "$cache/$1"-*/; do
        [ -f "$d/ready" ] && { echo "${d%/}"; return 0; }
    done
    return 1
}

apt_opts() {
    echo -o Dir::Etc::SourceList="$cache/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$cache/lists" -o Dir::Cache="$cache/apt-cache" -o Acquire::Languages=none
}

fetch() {
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock 9
    local want=() m line pkg have
    for m in "$@"; do
        have=no
        while read -r pkg _; do cached "$pkg" >/dev/null && have=yes; done < <(suites "$m")
        [ $have = yes ] || mapfile -t -O ${#want[@]} want < <(suites "$m")
    done
    if [ ${#want[@]} -gt 0 ]; then
        mapfile -t want < <(printf '%s\n' "${want[@]}" | sort -u)
        mkdir -p "$cache/lists/partial" "$cache/apt-cache/archives/partial"
        for line in "${want[@]}"; do
            printf 'deb-src http://deb.debian.org/debian %s main\ndeb http://deb.debian.org/debian %s main\n' \
                "${line#* }" "${line#* }"
        done | sort -u >"$cache/sources.list"
        # shellcheck disable=SC2046
        apt-get $(apt_opts) update -qq >"$cache/apt.log" 2>&1 ||
            { tail -5 "$cache/apt.log" >&2; die "apt-get update (private list $cache/sources.list) failed"; }
        for line in "${want[@]}"; do fetch_one "${line%% *}" || true; done
        rm -rf "$cache/lists" "$cache/apt-cache" # 170 MB of indexes, only needed to fetch
    fi
    exec 9>&-
    for m in "$@"; do
        have=no
        while read -r pkg _; do cached "$pkg" >/dev/null && have=yes; done < <(suites "$m")
        [ $have = yes ] || die "no regression suite could be fetched for PostgreSQL $m (tried: $(suites "$m" | tr '\n' ' '))"
    done
}

fetch_one() { # package: source tree + server headers into $cache/<package>-<version>
    local pkg=$1 major=${1#postgresql-} ver up dir tmp
    # the newest source in the suite's index, also for 15: the installed 15 may be a newer point
    # release from bookworm-security, whose source the mirror may not serve (15.20 did not)
    # shellcheck disable=SC2046
    ver=$(apt-cache $(apt_opts) showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -1)
    [ -n "$ver" ] || { echo "pgregress.sh: no source package $pkg in the index" >&2; return 1; }
    up=${ver%%-*}
    dir=$cache/$pkg-$ver
    tmp=$dir.tmp.$$
    rm -rf "$tmp" && mkdir -p "$tmp"
    # shellcheck disable=SC2046
    if ! (cd "$tmp" && apt-get $(apt_opts) source --download-only -qq "$pkg=$ver" &&
          apt-get $(apt_opts) download -qq "postgresql-server-dev-$major=$ver" &&
          tar xjf "${pkg}_$up.orig.tar.bz2" "postgresql-$up/src/test/regress" &&
          mv "postgresql-$up/src/test/regress" regress && mkdir hdr &&
          dpkg-deb -x postgresql-server-dev-"$major"_*.deb hdr &&
          mv "hdr/usr/include/postgresql/$major/server" include &&
          rm -rf hdr "postgresql-$up" ./*.deb ./*.tar.* ./*.dsc) >"$tmp/fetch.log" 2>&1; then
        echo "pgregress.sh: fetching $pkg=$ver failed:" >&2
        grep -E '^E:|rror' "$tmp/fetch.log" | head -3 >&2
        rm -rf "$tmp"
        return 1
    fi
    echo "$ver" >"$tmp/ready"
    rm -rf "$dir" && mv "$tmp" "$dir"
}

load() {
    local major=$1 db=$2 w=$3 pkg src ver t0=$SECONDS so=no
    fetch "$major"
    while read -r pkg _; do src=$(cached "$pkg") && break; done < <(suites "$major")
    [ -n "${src:-}" ] || die "no suite for $major"
    ver=$(cat "$src/ready")
    mkdir -p "$w"
    w=$(cd "$w" && pwd)
    chmod 755 "$w"
    rm -rf "${w:?}/in" "${w:?}/out" "${w:?}/lib"
    mkdir -p "$w/in" "$w/out" "$w/lib"
    # a private copy of the suite: 13's *.source files are converted here (Debian's pg_regress 15 no
    # longer does that), with this run's paths
    cp -r "$src/regress/sql" "$src/regress/expected" "$w/in/"
    ln -s "$src/regress/data" "$w/in/data"
    install -d -o postgres -g postgres -m 700 "$w/out/testtablespace"
    local f to
    for f in "$src"/regress/input/*.source "$src"/regress/output/*.source; do
        [ -e "$f" ] || continue
        case "$f" in */input/*) to=$w/in/sql/$(basename "$f" .source).sql ;; *) to=$w/in/expected/$(basename "$f" .source).out ;; esac
        sed -e "s#@abs_srcdir@#$w/in#g" -e "s#@abs_builddir@#$w/out#g" -e "s#@testtablespace@#$w/out/testtablespace#g" \
            -e "s#@libdir@#$w/lib#g" -e 's#@DLSUFFIX@#.so#g' "$f" >"$to"
    done
    # 18.6's suite tests server crashes fixed after the npm servers 17.10 and 18.4 were built (bug
    # #19491: IS JSON / JSON() on a string type without a cast to text; satisfies_hash_partition
    # with VARIADIC NULL); they would crash those servers and cut the suite short
    [ ! -f "$w/in/sql/sqljson.sql" ] || sed -i '/^SELECT .*sqljson_mystr/d' "$w/in/sql/sqljson.sql"
    [ ! -f "$w/in/sql/hash_part.sql" ] || sed -i '/satisfies_hash_partition(.*VARIADIC NULL/d' "$w/in/sql/hash_part.sql"
    awk '$1 == "test:" { out = "test:"; for (i = 2; i <= NF; i++) if ($i !~ /^psql(_crosstab|_pipeline)?$/) out = out " " $i;
                         if (out != "test:") print out; next } { print }' "$src/regress/parallel_schedule" >"$w/in/schedule"
    # C functions: regress.so only where the headers are this server's major
    local server_major pkglib
    server_major=$(psql -X -At -d postgres -c "SELECT current_setting('server_version_num')::int / 10000")
    [ "$server_major" = "$major" ] || die "the server is $server_major, not $major"
    pkglib=$(psql -X -At -d postgres -c "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")
    ln -s "$pkglib/autoinc.so" "$pkglib/refint.so" "$w/lib/"
    if [ "$pkg" = "postgresql-$major" ]; then
        cc -O1 -fPIC -shared -I"$src/include" "$src/regress/regress.c" -o "$w/lib/regress.so" 2>"$w/cc.log" ||
            { cat "$w/cc.log" >&2; die "building regress.so for $major failed"; }
        so=yes
    fi
    createdb "$db"
    # the suite's own expectations (pg_regress sets the time zone and date style the same way)
    local rc=0
    (cd "$w/in" && PGTZ=PST8PDT PGDATESTYLE='Postgres, MDY' timeout 900 /usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress \
        --use-existing --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" --dbname="$db" --inputdir=. \
        --outputdir="$w/out" --bindir=/usr/lib/postgresql/15/bin --dlpath="$w/lib" --schedule=schedule \
        --max-connections=2 >"$w/regress.log" 2>&1) || rc=$?
    [ $rc -ne 124 ] || die "the regression suite hung (killed after 900 s); see $w/regress.log"
    # a server crash cuts the suite short (the tests after it fail while the server recovers)
    local crashed
    crashed=$(grep -l 'server closed the connection unexpectedly\|in recovery mode' "$w"/out/results/*.out 2>/dev/null |
              head -3 | xargs -r -n1 basename | tr '\n' ' ' || true)
    if [ -n "$crashed" ]; then
        # let it finish its recovery, for whatever the caller does next on it
        for _ in $(seq 60); do psql -X -At -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
        die "the server crashed during the regression suite (tests: $crashed); see its log"
    fi
    local tables
    tables=$(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND oid >= 16384")
    echo "suite $pkg $ver, regress.so $so, $tables tables, $((SECONDS - t0)) s"
}

case "${1:-}" in
fetch) shift; [ $# -ge 1 ] || die "usage: pgregress.sh fetch MAJOR..."; fetch "$@" ;;
load) [ $# -eq 4 ] || die "usage: pgregress.sh load MAJOR DB WORKDIR"; load "$2" "$3" "$4" ;;
*) die "usage: pgregress.sh fetch MAJOR... | load MAJOR DB WORKDIR" ;;
esac
