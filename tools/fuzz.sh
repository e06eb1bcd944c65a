#!/usr/bin/env bash
# Runs every native Go fuzz target of the repository (each `func FuzzXxx` in a
# tracked *_test.go), for FUZZTIME each, FUZZJOBS at a time:
#
#   tools/fuzz.sh [FUZZTIME] [package pattern]     e.g. tools/fuzz.sh 60s core/mpp
#
# `go test -fuzz` takes one target of one package per run, hence the loop.
# Workers default to 1 (FUZZPARALLEL) so that the run stays gentle on a
# shared machine; FUZZMINIMIZE bounds the minimisation of each new input.
# A failing input is written by Go to the package's testdata/fuzz/FuzzXxx/:
# commit it, and plain `go test` replays it as a regression case from then
# on. Every target runs even after a failure; the exit status is 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-${FUZZTIME:-60s}}
only=${2:-}
go=${GO:-go}
n=0
# module DIR: the directory of the go.mod that DIR's package belongs to. The
# SDK kits and examples are modules of their own, and `go test` reaches a
# package only from inside its module.
module() {
  local d=$1
  until [[ -f $d/go.mod || $d == . ]]; do d=$(dirname "$d"); done
  echo "$d"
}
# fuzz DIR NAME runs one target; its report is printed whole when it ends,
# so that targets running side by side do not interleave their lines. A
# failure is recorded in $failures.
failures=$(mktemp)
trap 'rm -f "$failures"' EXIT
fuzz() {
  local dir=$1 name=$2 mod pkg before after out
  local log="${TMPDIR:-/tmp}/fuzz-${dir//\//_}-$name.log"
  before=$(ls "$dir/testdata/fuzz/$name" 2>/dev/null | wc -l)
  mod=$(module "$dir")
  case $mod in
    .) pkg=./$dir ;;
    "$dir") pkg=. ;;
    *) pkg=./${dir#"$mod"/} ;;
  esac
  if "$go" -C "$mod" test -run '^$' -fuzz "^$name\$" -fuzztime="$fuzztime" -fuzzminimizetime="${FUZZMINIMIZE:-5s}" \
    -parallel="${FUZZPARALLEL:-1}" "$pkg" > "$log" 2>&1; then
    echo "fuzz: ./$dir $name ($fuzztime): ok"
    return
  fi
  after=$(ls "$dir/testdata/fuzz/$name" 2>/dev/null | wc -l)
  # Go 1.26 can fail a run whose -fuzztime ran out while a worker was busy
  # with a bare "context deadline exceeded" and no input (golang/go#75804,
  # fixed in Go 1.27): that is not a finding.
  if [[ $after == "$before" ]] && grep -A1 -e "^--- FAIL: $name " "$log" | grep -qx '    context deadline exceeded'; then
    echo "fuzz: ./$dir $name stopped with Go's spurious deadline error (golang/go#75804); no failing input"
    return
  fi
  out=$(grep -v -e 'level=INFO' -e 'level=WARN' "$log" | tail -n 30)
  printf 'fuzz: ./%s %s (%s): FAILED\n%s\n' "$dir" "$name" "$fuzztime" "$out"
  echo "./$dir $name" >> "$failures"
}
# FUZZJOBS targets run at once (1 by default; `make test` runs 2, one per
# core: most of a short run is compiling, not fuzzing).
jobs_max=${FUZZJOBS:-1}
start=$SECONDS
for file in $(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go' -not -path './bin/*'); do
  dir=$(dirname "$file")
  [[ -z $only || $dir == *"$only"* ]] || continue
  for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$file"); do
    n=$((n + 1))
    while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n; done
    fuzz "$dir" "$name" &
  done
done
wait
echo "fuzz: $n targets in $((SECONDS - start)) s, $jobs_max at a time"
if [[ -s $failures ]]; then
  sed 's/^/fuzz: FAILED /' "$failures"
  exit 1
fi
