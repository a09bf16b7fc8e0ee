#!/usr/bin/env bash
# Every output o365scan writes for the fixtures (JSON, JSON Lines, table,
# HTML, timeline CSV and JSON Lines, Timesketch) into DIR, one file per
# fixture and format, so two builds can be compared byte for byte:
#
#   scripts/outputs.sh DIR [BINARY]     then  diff -r OLD NEW
#
# Refactors promise identical outputs; this is how that is checked.
set -uo pipefail
cd "$(dirname "$0")/.."
DIR=$1
BIN=${2:-./target/release/o365scan}
mkdir -p "$DIR"
run() { # name, then arguments
    local name=$1
    shift
    "$BIN" "$@" > "$DIR/$name.out" 2> "$DIR/$name.err"
    echo "exit $?" >> "$DIR/$name.err"
}
while IFS= read -r f; do
    n=$(echo "$f" | tr '/' '_')
    run "$n.json" --format json "$f"
    run "$n.jsonl" --format jsonl "$f"
    run "$n.table" --color never "$f"
    rm -f "$DIR/$n.html" "$DIR/$n.tl.csv" "$DIR/$n.tl.jsonl"
    run "$n.html-run" -q --format json --html "$DIR/$n.html" "$f"
    run "$n.tl-csv-run" -q --format json --timeline "$DIR/$n.tl.csv" "$f"
    run "$n.tl-jsonl-run" -q --format json --timesketch --timeline "$DIR/$n.tl.jsonl" "$f"
done < <(find fixtures -name '*.csv' | LC_ALL=C sort)
# Several inputs in one run.
mapfile -t SAMPLE < <(find fixtures/sample fixtures/variants -name '*.csv' | LC_ALL=C sort)
rm -f "$DIR/multi.tl.csv"
run multi.json --format json "${SAMPLE[@]}"
run multi.tl-run -q --format json --timeline "$DIR/multi.tl.csv" "${SAMPLE[@]}"
