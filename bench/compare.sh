#!/usr/bin/env bash
# Before/after figures in one run: the automation and inbound benchmarks on several checkouts,
# interleaved round by round, so a slow stretch of a shared machine weighs on every side.
#
#   git worktree add ../before <commit> && (cd ../before && ./scripts/bootstrap)
#   bench/compare.sh ../before .            # ROUNDS=3 by default
#
# Each checkout needs its own .venv (./scripts/bootstrap). Prints each benchmark's summary lines.
set -uo pipefail
rounds="${ROUNDS:-3}"
[ "$#" -ge 1 ] || { echo "usage: bench/compare.sh CHECKOUT [CHECKOUT ...]" >&2; exit 2; }
for round in $(seq 1 "$rounds"); do
    for side in "$@"; do
        echo "=== round $round $side automation $(date +%T)"
        (cd "$side" && .venv/bin/python bench/automation.py --rate 5 --seconds 40 --timers 0 2>&1 |
            grep -E "where the time|CPU over|^floor|^reaction|ratio")
    done
    for side in "$@"; do
        echo "=== round $round $side inbound $(date +%T)"
        (cd "$side" && .venv/bin/python bench/inbound.py --messages 600 --conversations 120 \
            --memory-conversations 0 2>&1 | grep -E "CPU over|answered|^end to end|^floor|ratio")
    done
done
