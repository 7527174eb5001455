#!/usr/bin/env bash
# One measurement batch for issue 7's figures, side by side in one sitting (see
# docs/performance.md, "Measuring"): block-fetch against ns-3, then quickstart, fleet-10k
# and fleet-100k with the crypto memo on and off. Every run's report.json is compared with
# a reference: REF_DIR/<scenario>-<on|off>/report.json if it exists, else the batch's own
# first run of that kind (so the batch checks its own determinism at least).
#
# Usage: tools/perf/batch.sh [ICSIM_BINARY] [OUT_DIR] [REF_DIR]
#   ICSIM_BINARY  default target/release/icsim (build it first: cargo build --release)
#   OUT_DIR       default /tmp/icsim-batch; gets batch.log, the runs and the references
#   REF_DIR       default OUT_DIR/ref
# Environment: ROUNDS (block-fetch rounds, default 9), SKIP_100K=1 to leave fleet-100k out.
# Needs python3 and GNU time (/usr/bin/time); ns-3 comes from ../shared/bench/ns3/run.sh,
# which installs Debian's libns3-dev if it is missing. Takes about 15 minutes on the fast
# host of November 2026, 35 on the slow one (fleet-100k off is most of it).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$root/target/release/icsim}"
out="${2:-/tmp/icsim-batch}"
ref="${3:-$out/ref}"
rounds="${ROUNDS:-9}"
ns3="$root/../shared/bench/ns3/run.sh"
for tool in python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "batch: $tool not found" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "batch: no icsim binary at $bin" >&2; exit 2; }
[ -x "$ns3" ] || { echo "batch: no ns-3 runner at $ns3" >&2; exit 2; }
mkdir -p "$out" "$ref"
log="$out/batch.log"
echo "batch $(date -u +%FT%TZ) binary $bin ($(git -C "$root" rev-parse --short HEAD))" > "$log"

rate() { grep -o '"events_per_s":[0-9.]*' | cut -d: -f2; }
for n in 1000 10000; do
  for i in $(seq 1 "$rounds"); do
    icsim=$("$bin" bench block-fetch --n="$n" --seed=1 | rate)
    ns=$("$ns3" --n="$n" --seed=1 2>/dev/null | rate)
    echo "block-fetch n=$n round=$i icsim=$icsim ns3=$ns" >> "$log"
  done
done

# run NAME SCENARIO on|off: one timed run, its report checked against the reference.
run() {
  local name=$1 scenario=$2 memo=$3 flag=""
  [ "$memo" = off ] && flag=--no-crypto-cache
  local dir="$out/run-$name" want="$ref/$scenario-$memo/report.json"
  rm -rf "$dir"
  /usr/bin/time -f "$name wall %e s user %U s peak %M KB" \
    "$bin" run "$root/scenarios/$scenario.json" --quiet $flag --out "$dir" >/dev/null 2>>"$log"
  if [ ! -f "$want" ]; then
    mkdir -p "$(dirname "$want")" && cp "$dir/report.json" "$want"
    echo "  $name: reference made from this run" >> "$log"
  elif cmp -s "$dir/report.json" "$want"; then
    echo "  $name: report identical to the reference" >> "$log"
  else
    echo "  $name: REPORT DIFFERS from $want" >> "$log"
  fi
}
for i in 1 2 3; do run quickstart-on quickstart on; run quickstart-off quickstart off; done
for i in 1 2; do run fleet-10k-on fleet-10k on; run fleet-10k-off fleet-10k off; done
if [ "${SKIP_100K:-0}" != 1 ]; then
  run fleet-100k-on fleet-100k on
  run fleet-100k-off fleet-100k off
  run fleet-100k-on fleet-100k on
fi
echo "end $(date -u +%FT%TZ)" >> "$log"

python3 - "$log" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"block-fetch n=(\d+) round=\d+ icsim=([\d.]+) ns3=([\d.]+)", line)
    if m:
        rows.setdefault(int(m.group(1)), []).append((float(m.group(2)), float(m.group(3))))
for n, pairs in sorted(rows.items()):
    ours = [a for a, _ in pairs]
    theirs = [b for _, b in pairs]
    ratios = [a / b for a, b in pairs]
    print(f"block-fetch N={n}: icsim {statistics.median(ours) / 1e6:.2f} M/s, "
          f"ns-3 {statistics.median(theirs) / 1e6:.2f} M/s, ratio of medians "
          f"{statistics.median(ours) / statistics.median(theirs):.2f}x, per-round "
          f"{min(ratios):.2f}-{max(ratios):.2f}x")
PY
grep -E ' wall |DIFFERS' "$log"
