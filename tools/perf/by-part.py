#!/usr/bin/env python3
"""Self instructions of a callgrind profile, summed by part of icsim.

Reads the profile with callgrind_annotate (self counts, every function) and puts each
function into one part by its name: the CoAP layers, the engine, the links, the device,
and so on (see PARTS). Prints each part's share of all instructions and its count per
unit, where the unit is what the run did many times: the block exchanges of a rollout by
default (from its report.json), or any count given with --per.

Usage:
  valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \\
      icsim run SCENARIO --quiet --out /tmp/run
  tools/perf/by-part.py /tmp/cg.out --report /tmp/run/report.json
  tools/perf/by-part.py /tmp/cg.out --per 1779976 --unit event

Exit status 2 on unusable input (no profile, no callgrind_annotate, no count).
"""
import argparse
import json
import re
import shutil
import subprocess
import sys

# First match wins: a function goes to the first part one of whose patterns occurs in its
# name (crate and module path as callgrind prints it).
PARTS = [
    ("CoAP layers", ["icsim_protocol::coap", "coap_lite"]),
    ("OSCORE", ["icsim_protocol::oscore"]),
    ("crypto", ["sha2::", "p256::", "hkdf::", "hmac::", "aes::", "aes_gcm", "ccm::",
                "elliptic_curve", "primeorder", "ecdsa::", "crypto_bigint", "digest::",
                "cipher::", "aead::", "universal_hash", "polyval", "ghash", "ctr::"]),
    ("device", ["icsim_protocol::exchange::device", "icsim_protocol::memo"]),
    ("repository and caches", ["icsim_protocol::exchange::repository"]),
    ("UM, AS, tokens", ["icsim_protocol::exchange::um", "icsim_protocol::exchange::auth",
                        "icsim_protocol::ace"]),
    ("CBOR", ["ciborium", "coset", "icsim_protocol::cbor", "serde"]),
    ("event queue", ["icsim_sim::engine::queue", "core::slice::sort"]),
    ("links", ["icsim_sim::net"]),
    ("random streams", ["rand_chacha", "rand_core"]),
    ("engine, other", ["icsim_sim"]),
    ("allocator", ["malloc", "free", "realloc"]),
    ("memcpy, memcmp, memset", ["memmove", "memcpy", "memcmp", "memset"]),
    ("std collections", ["alloc::collections", "alloc::raw_vec", "alloc::vec"]),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile", help="callgrind.out file")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--report", help="the run's report.json: per block exchange")
    group.add_argument("--per", type=int, help="divide by this count instead")
    parser.add_argument("--unit", default="event", help="name of the --per unit")
    return parser.parse_args()


def fail(message):
    print(f"by-part: {message}", file=sys.stderr)
    sys.exit(2)


def unit_count(args):
    if args.per is not None:
        if args.per <= 0:
            fail("--per must be positive")
        return args.per, args.unit
    try:
        with open(args.report) as f:
            blocks = json.load(f)["engine"]["host_crypto"]["payload_blocks"]
        exchanges = blocks["executed"] + blocks["reused"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        fail(f"{args.report}: no block-exchange count ({e})")
    if not isinstance(exchanges, int) or exchanges <= 0:
        fail(f"{args.report}: the run has no block exchanges to divide by; use --per")
    return exchanges, "block exchange"


def self_counts(profile):
    if shutil.which("callgrind_annotate") is None:
        fail("callgrind_annotate not found (it comes with valgrind)")
    run = subprocess.run(["callgrind_annotate", "--threshold=100", profile],
                         capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"{profile}: callgrind_annotate failed: {run.stderr.strip()}")
    total = None
    rows = []
    for line in run.stdout.splitlines():
        m = re.match(r"\s*([\d,]+)(?: \(\s*[\d.]+%\))?\s+(.*)", line)
        if not m:
            continue
        count, name = int(m.group(1).replace(",", "")), m.group(2)
        if name.startswith("PROGRAM TOTALS"):
            total = count
        elif ":" in name:
            rows.append((count, name))
    if not total:
        fail(f"{profile}: no program total in callgrind_annotate's output")
    return total, rows


def main():
    args = parse_args()
    units, unit = unit_count(args)
    total, rows = self_counts(args.profile)
    sums = {name: 0 for name, _ in PARTS}
    sums["other"] = 0
    for count, function in rows:
        part = next((name for name, patterns in PARTS
                     if any(p in function for p in patterns)), "other")
        sums[part] += count
    print(f"{total:,} instructions, {units:,} {unit}s: {total / units:,.0f} per {unit}")
    for part, count in sorted(sums.items(), key=lambda kv: -kv[1]):
        print(f"{100 * count / total:6.2f} %  {count / units:7,.0f}  {part}")


if __name__ == "__main__":
    main()
