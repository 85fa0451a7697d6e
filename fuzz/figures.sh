#!/usr/bin/env bash
# The fuzzer's throughput figures, side by side: the same seeded campaigns
# on a base commit (built once, in a worktree under target/figures/) and on
# this checkout, one job each, in one run, with where the time goes.
#
#   bash fuzz/figures.sh [BASE [SECONDS]]
#
# BASE defaults to the commit that added the per-phase times (the first
# commit these figures can be read from); SECONDS (default 45) is each
# campaign's length. Eight campaigns: about 8 x SECONDS plus start-up, so
# about 7 minutes at the default, once both builds exist (the first run
# builds the base's fuzzer, dependencies included, and its production
# runners: about 15 minutes more).
# Findings go to target/figures/findings-*, never to corpus/regressions.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${1:-af03a46}
SECONDS_EACH=${2:-45}
SEED=7
WORK=$PWD/target/figures
mkdir -p "$WORK"

base_commit=$(git rev-parse --short "$BASE^{commit}")
if [ ! -d "$WORK/base-$base_commit" ]; then
  git worktree add --detach "$WORK/base-$base_commit" "$base_commit" >/dev/null
fi

echo "== building the fuzzer at $base_commit and here (release)" >&2
# The base in a target folder of its own (a shared one can leave the other
# side's binary in place): its first build takes as long as a fresh one.
(cd "$WORK/base-$base_commit" && CARGO_TARGET_DIR="$WORK/base-target" \
  cargo build --locked --release -q -p fuzz)
cp "$WORK/base-target/release/fuzz" "$WORK/fuzz-base"
cargo build --locked --release -q -p fuzz
cp target/release/fuzz "$WORK/fuzz-here"

# The production runners are built on first use: a one-second releases
# campaign on each side builds both before anything is timed.
for side in base here; do
  where=$PWD
  [ "$side" = base ] && where="$WORK/base-$base_commit"
  (cd "$where" && "$WORK/fuzz-$side" campaign --json --keep-going --seconds 1 \
    --target releases --production piecrust-0.32.2 --against piecrust-0.31 \
    --findings "$WORK/findings-warm-up") >/dev/null || true
done

# campaign NAME WHERE BINARY ARGS...: one campaign's JSON report.
campaign() {
  local name=$1 where=$2 binary=$3
  shift 3
  mkdir -p "$WORK/findings-$name"
  (cd "$where" && "$binary" campaign --json --keep-going --jobs 1 --seed "$SEED" \
    --seconds "$SECONDS_EACH" --findings "$WORK/findings-$name" "$@") \
    >"$WORK/$name.json" || true
}

declare -A ARGS=(
  [differential-3way]="--target differential --production piecrust-0.32.2"
  [gas-3way]="--target gas --production piecrust-0.32.2"
  [releases]="--target releases --production piecrust-0.32.2 --against piecrust-0.31"
  [differential-2way]="--target differential --production none"
)
ORDER="differential-3way gas-3way releases differential-2way"
for figure in $ORDER; do
  for side in base here; do
    where=$PWD
    [ "$side" = base ] && where="$WORK/base-$base_commit"
    echo "== $figure on $side ($SECONDS_EACH s)" >&2
    # shellcheck disable=SC2086
    campaign "$figure-$side" "$where" "$WORK/fuzz-$side" ${ARGS[$figure]}
  done
done

python3 - "$WORK" "$base_commit" "$(git rev-parse --short HEAD)" $ORDER <<'EOF'
import json, sys
work, base, here, figures = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def load(name):
    try:
        with open(f"{work}/{name}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def share(part, whole):
    return f"{100 * part / whole:.0f} %" if whole else "-"

print(f"base {base}, here {here}; one job each, seed 7")
print(f"{'figure':<20} {'side':<5} {'exec/s':>7} {'ratio':>6} {'starts/case':>11} {'restarts':>9} "
      f"{'probe t/o':>9} {'step t/o':>8} {'findings':>8}  time: ours / production (spawn, session, deploy, call) / rest")
for figure in figures:
    rates = {}
    for side in ("base", "here"):
        report = load(f"{figure}-{side}")
        if report is None:
            print(f"{figure:<20} {side:<5} no report")
            continue
        tally = report["tally"]
        cases = max(tally["executions"], 1)
        rate = tally["executions"] / report["seconds"]
        rates[side] = rate
        runners = tally.get("runners", {})
        time = tally.get("runner_time", {})
        phases = tally.get("phases", {})
        total = phases.get("total_ns", 0)
        production = sum(time.get(k, 0) for k in ("spawn_ns", "session_ns", "deploy_ns", "call_ns", "other_ns"))
        ours = phases.get("our_engines_ns", 0) + phases.get("our_digests_ns", 0)
        rest = total - ours - production - phases.get("generate_ns", 0)
        ratio = f"{rate / rates['base']:.1f}x" if side == "here" and rates.get("base") else ""
        print(f"{figure:<20} {side:<5} {rate:>7.1f} {ratio:>6} {runners.get('starts', 0) / cases:>11.3f} "
              f"{share(runners.get('restarts', 0), cases):>9} {runners.get('probe_timeouts', 0):>9} "
              f"{runners.get('timeouts', 0):>8} {len(report.get('findings', [])):>8}  "
              f"{share(ours, total)} / {share(production, total)} ("
              + ", ".join(share(time.get(k, 0), total) for k in ("spawn_ns", "session_ns", "deploy_ns", "call_ns"))
              + f") / {share(rest, total)}")
EOF
