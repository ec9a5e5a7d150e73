#!/usr/bin/env bash
# Run benchmarks at an older commit and at this checkout, back to back, on this machine, and
# write both outputs to bench/results/compare_<ref>.md: "ratios no worse than before" checked
# side by side, not against figures typed into an old README on another day.
#
# Each bench's own targets are ratios against a bare baseline measured in the same run, so
# the two commits' ratios compare even though both runs share one noisy machine. The older
# commit runs from a git worktree in a temporary folder, with this checkout's virtual
# environment (its package versions) and its own conf/ and hydra_plugins/ first on the path.
#
# Usage: bash bench/compare_commits.sh <ref> [bench ...]
#   e.g. OPTBENCH_DATA_DIR=../shared/data bash bench/compare_commits.sh 50dfa03 \
#        bench_sklearn_loop bench_feature_cache bench_joblib_sweep
# Benches default to those both commits have, each side with its own default arguments; the
# HEAD side also rewrites its bench/results/<bench>.md, as a bench run always does.
# SAME_BENCH=1 runs HEAD's bench scripts on both sides (the older code, today's measure): for a
# bench whose measure changed since <ref>.
set -euo pipefail
ref=${1:?usage: bash bench/compare_commits.sh <ref> [bench ...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
old=$(mktemp -d /tmp/optbench-at-XXXXXX)
trap 'git -C "$root" worktree remove --force "$old" >/dev/null 2>&1 || true' EXIT
git -C "$root" worktree add --detach --force "$old" "$ref" >/dev/null
# the older layout kept conf/ at the top and mapped it into the package at install time
[ -e "$old/optbench/conf" ] || ln -s "$old/conf" "$old/optbench/conf"
benches=("$@")
if [ ${#benches[@]} -eq 0 ]; then
  for path in "$old"/bench/bench_*.py; do
    name=$(basename "$path" .py)
    [ -f "$root/bench/$name.py" ] && benches+=("$name")
  done
fi
out="$root/bench/results/compare_$(git -C "$root" rev-parse --short "$ref").md"
{
  echo "# compare: $ref ($(git -C "$root" log -1 --format=%cs "$ref")) vs $(git -C "$root" rev-parse --short HEAD)"
  echo
  echo "- command: \`bash bench/compare_commits.sh $ref ${benches[*]}\`"
  echo "- measured: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $("$python" --version)"
  echo "- each bench ran at $ref, then at HEAD, one after the other"
  [ -z "${SAME_BENCH:-}" ] || echo "- SAME_BENCH=1: both sides ran HEAD's bench scripts"
} >"$out"
for name in "${benches[@]}"; do
  for side in "$ref" HEAD; do
    echo "== $name at $side" >&2
    if [ "$side" = HEAD ]; then dir=$root; path=""; else dir=$old; path=$old; fi
    # run from the side's own folder: a `python -m` child (the MLflow helper of commits before
    # 74dbd17) imports optbench from the working directory first
    script="bench/$name.py"
    [ -z "${SAME_BENCH:-}" ] || script="$root/bench/$name.py"
    text=$(cd "$dir" && PYTHONPATH=$path "$python" "$script" 2>/dev/null \
      | grep -v '^(written to')
    printf '%s\n' "$text" >&2
    printf '\n## %s at %s\n\n```\n%s\n```\n' "$name" "$side" "$text" >>"$out"
  done
done
echo "(written to $out)" >&2
