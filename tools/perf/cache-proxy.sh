#!/usr/bin/env bash
# Counts the last-level cache misses of a block exchange at fleet scale, deterministically,
# on a host without hardware counters (see docs/performance.md, "Where the time goes").
#
# fleet-100k keeps 5,000 update jobs in flight against a 32 MB cache. This proxy keeps
# about that ratio at a tenth of the size: fleet-10k cut to every tenth site (1,000 PLCs),
# 500 jobs in flight, under cachegrind with a 4 MiB last-level cache. Same binary, same
# scenario: same count, so a change to memory layout can be judged by it.
#
# Usage: tools/perf/cache-proxy.sh [ICSIM_BINARY] [OUT_DIR]
#   ICSIM_BINARY  default target/release/icsim (build it first: cargo build --release)
#   OUT_DIR       default /tmp/icsim-cache-proxy; holds the scenario, the run's report and
#                 cachegrind.out (read it with cg_annotate --show=DLmr,DLmw --sort=DLmr).
# Needs python3 and valgrind. Takes about 90 s.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$root/target/release/icsim}"
out="${2:-/tmp/icsim-cache-proxy}"
for tool in python3 valgrind; do
  command -v "$tool" >/dev/null || { echo "cache-proxy: $tool not found" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "cache-proxy: no icsim binary at $bin" >&2; exit 2; }
mkdir -p "$out"

python3 - "$root/scenarios/fleet-10k.json" "$out/proxy.json" <<'PY'
import json, sys
scenario = json.load(open(sys.argv[1]))
scenario["name"] = "fleet-1k-cache-proxy"
scenario["sites"] = scenario["sites"][::10]
scenario["rollout"]["concurrency"] = 500
json.dump(scenario, open(sys.argv[2], "w"), indent=1)
PY

valgrind --tool=cachegrind --cache-sim=yes --LL=4194304,16,64 --D1=49152,12,64 \
  --cachegrind-out-file="$out/cachegrind.out" \
  "$bin" run "$out/proxy.json" --quiet --out "$out/run" 2> "$out/valgrind.log" >/dev/null

python3 - "$out/valgrind.log" "$out/run/report.json" <<'PY'
import json, re, sys
log = open(sys.argv[1]).read()
def count(label):
    m = re.search(label + r":\s+([\d,]+)", log)
    return int(m.group(1).replace(",", "")) if m else 0
report = json.load(open(sys.argv[2]))
blocks = report["engine"]["host_crypto"]["payload_blocks"]
exchanges = blocks["executed"] + blocks["reused"]
instructions, ll_misses = count(r"I\s+refs"), count(r"LLd misses")
print(f"block exchanges        {exchanges:,}")
print(f"instructions           {instructions:,} ({instructions / exchanges:,.0f} per exchange)")
print(f"last-level data misses {ll_misses:,} ({ll_misses / exchanges:.2f} per exchange)")
PY
