#!/usr/bin/env bash
# Benchmark: o365scan against the floor (a csv::ByteRecord loop over the same
# file) on a generated retriever export. Median of RUNS runs per stage; peak
# resident memory from GNU time.
#
#   scripts/bench.sh [ROWS] [RUNS]      (defaults: 1000000 rows, 5 runs)
#
# The export is generated once (examples/generate.rs, seed 1, with the BEC
# intrusion) into target/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
RUNS=${2:-5}
DIR=target/bench
FILE=$DIR/export-$ROWS.csv
mkdir -p "$DIR"
cargo build --quiet --release --bin o365scan --example generate --example stages
[[ -f $FILE ]] || ./target/release/examples/generate "$ROWS" 1 --intrusion > "$FILE"
BYTES=$(stat -c %s "$FILE")

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One command: median wall seconds and the largest peak RSS (KiB) over RUNS.
measure() {
    local times=() rss=0 t r
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$DIR/time" "$@" > /dev/null 2>&1
        read -r t r < "$DIR/time"
        times+=("$t")
        (( r > rss )) && rss=$r
    done
    echo "$(printf '%s\n' "${times[@]}" | median) $rss"
}

printf 'file: %s (%d rows, %.1f MB), %d runs, median\n' "$FILE" "$ROWS" "$(echo "$BYTES/1000000" | bc -l)" "$RUNS"
printf '%-34s %9s %12s %9s %8s %10s\n' stage seconds rows/s MB/s x-floor peak-MiB
floor_t=
for stage in floor parse timeline rules full; do
    if [[ $stage == full ]]; then
        read -r t rss < <(measure ./target/release/o365scan -q --format json "$FILE")
        label="full default run (--format json)"
    else
        read -r t rss < <(measure ./target/release/examples/stages "$stage" "$FILE")
        label=$stage
    fi
    [[ -z $floor_t ]] && floor_t=$t
    printf '%-34s %9.2f %12.0f %9.1f %8.2f %10.1f\n' "$label" "$t" "$(echo "$ROWS/$t" | bc -l)" \
        "$(echo "$BYTES/1000000/$t" | bc -l)" "$(echo "$t/$floor_t" | bc -l)" "$(echo "$rss/1024" | bc -l)"
done
