# bench/lib.sh: the measuring method shared by every benchmark (sourced, never run).
#
#   bench_init NAME            work directory $BW (removed on exit unless BENCH_KEEP=1), $PAIRS, $SCALE
#   bench_pair TITLE A_LABEL A_CMD B_LABEL B_CMD
#                              one warm-up run of each, then $PAIRS pairs run alternately A B A B …
#                              (so a load change on the shared machine hits both sides alike);
#                              each command is a bash string timed by /usr/bin/time -f '%e %U %S %M'.
#                              Prints min/median/max of wall (s), CPU = user+sys (s) and peak RSS (MiB),
#                              and the median of the per-pair ratios A/B.
#   bench_prep                 optional function, defined by the caller: run (untimed) before every
#                              run with argument A or B (drop the restore target, clear outputs, ...)
#   bench_post                 optional, likewise run (untimed) after every run
#   $BENCH_EXTRA               a file a command (or bench_post) may write one number into: the worst
#                              commit latency of concurrent writers, whose max per side is printed;
#                              or, with BENCH_EXTRA_LABEL set (e.g. "server CPU s"), a figure whose
#                              min/median/max per side is printed under that label.
#
# Peak RSS is that of the largest single process of the command (getrusage of the children), not the
# sum over a pipeline. Benchmarks report; they never pass or fail on a figure.
#
# Variables: BENCH_PAIRS (default 5), BENCH_SCALE (default 1: the sizes of issue 13; 0.1 for a quick
# run), BENCH_KEEP=1 keeps the work directory.

bench_init() {
    PAIRS=${BENCH_PAIRS:-5}
    SCALE=${BENCH_SCALE:-1}
    BW=$(mktemp -d "/tmp/snapkeep-bench-$1.XXXXXX")
    chmod 755 "$BW"
    BENCH_EXTRA=$BW/extra
    export BENCH_EXTRA
    [ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
    echo "# $1: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start, $PAIRS pairs, BENCH_SCALE=$SCALE"
}

# scaled NUMBER [MIN]: NUMBER * BENCH_SCALE as an integer, at least MIN (default 1)
scaled() {
    local v
    v=$(awk -v n="$1" -v s="$SCALE" 'BEGIN { printf "%d", n * s + 0.5 }')
    [ "$v" -ge "${2:-1}" ] || v=${2:-1}
    echo "$v"
}

# _bench_run SIDE CMD: one timed run; appends "SIDE wall user sys rss extra" to $BW/results
_bench_run() {
    local side=$1 cmd=$2 extra=-
    if declare -F bench_prep >/dev/null; then bench_prep "$side"; fi
    rm -f "$BENCH_EXTRA"
    if ! /usr/bin/time -f '%e %U %S %M' -o "$BW/.time" bash -c "$cmd" >"$BW/.stdout" 2>"$BW/.stderr"; then
        echo "  run of $side failed: $cmd" >&2
        tail -n 20 "$BW/.stderr" >&2
        return 1
    fi
    if declare -F bench_post >/dev/null; then bench_post "$side"; fi
    [ -s "$BENCH_EXTRA" ] && extra=$(head -n 1 "$BENCH_EXTRA")
    echo "$side $(tail -n 1 "$BW/.time") $extra" >>"$BW/.results"
}

bench_pair() {
    local title=$1 la=$2 a=$3 lb=$4 b=$5 i
    : >"$BW/.results"
    echo
    echo "## $title"
    echo "   warm-up..."
    _bench_run A "$a" && _bench_run B "$b" || return 1
    : >"$BW/.results"
    for i in $(seq "$PAIRS"); do
        _bench_run A "$a" || return 1
        _bench_run B "$b" || return 1
        printf '   pair %d/%d done\n' "$i" "$PAIRS"
    done
    python3 - "$BW/.results" "$la" "$lb" <<'PY'
import os, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
side = {s: [r for r in rows if r[0] == s] for s in "AB"}
def fig(r):  # wall, cpu, rss MiB
    return float(r[1]), float(r[2]) + float(r[3]), float(r[4]) / 1024
print(f"   {'':46} {'wall s min/med/max':>22} {'CPU s min/med/max':>22} {'peak RSS MiB min/med/max':>26}")
for s, label in (("A", sys.argv[2]), ("B", sys.argv[3])):
    cols = list(zip(*(fig(r) for r in side[s])))
    cells = [f"{min(c):.1f}/{statistics.median(c):.1f}/{max(c):.1f}" for c in cols]
    extra = [float(r[5]) for r in side[s] if r[5] != "-"]
    label_x = os.environ.get("BENCH_EXTRA_LABEL")
    if extra and label_x:
        more = f"   {label_x} {min(extra):.2f}/{statistics.median(extra):.2f}/{max(extra):.2f}"
    else:
        more = f"   worst writer commit {max(extra):.1f} ms" if extra else ""
    print(f"   {s} {label:44} {cells[0]:>22} {cells[1]:>22} {cells[2]:>26}{more}")
ratios = [[x / y if y else float("nan") for x, y in zip(fig(a), fig(b))] for a, b in zip(side["A"], side["B"])]
med = [statistics.median(c) for c in zip(*ratios)]
print(f"   ratio A/B, median of {len(ratios)} per-pair ratios: wall {med[0]:.2f}x  CPU {med[1]:.2f}x  peak RSS {med[2]:.2f}x")
PY
}
