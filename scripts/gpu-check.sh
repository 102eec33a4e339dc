#!/usr/bin/env bash
# gpu-check.sh: build the core with CUDA by CMake alone (no Node needed), run the
# CUDA-vs-CPU tests (every native/tests/cuda_test_*.cc, so families added later
# are picked up), the CPU tests, and the CUDA benchmark; then print one summary
# line per op family: name, pass/fail, key figure.
#
#   scripts/gpu-check.sh                 # sm_90 (H100), build folder build-gpu
#   CUDA_ARCH=80 GPU_BUILD=build-a100 scripts/gpu-check.sh
#   SKIP_CPU_TESTS=1 scripts/gpu-check.sh
#
# Exit status: 0 when everything built and passed, 1 otherwise. Logs stay in
# $GPU_BUILD/gpu-check/.
set -u -o pipefail

cd "$(dirname "$0")/.." || { echo "gpu-check: cannot enter the repository root" >&2; exit 1; }
BUILD="${GPU_BUILD:-build-gpu}"
ARCH="${CUDA_ARCH:-90}"
JOBS="$(nproc 2>/dev/null || echo 4)"
LOGS="$BUILD/gpu-check"
START=$SECONDS
failed=0

say() { printf '== %s (%ds)\n' "$*" "$((SECONDS - START))"; }
die() { printf 'gpu-check: %s\n' "$*" >&2; exit 1; }

command -v cmake >/dev/null || die "cmake not found (need 3.18 or newer)"
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || die "nvcc not found: install the CUDA toolkit or put it on PATH"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi -L || echo "gpu-check: nvidia-smi sees no GPU; the CUDA tests will report 'skipped'"
fi
mkdir -p "$LOGS" || die "cannot create $LOGS"

say "configure ($BUILD, sm_$ARCH)"
cmake -S . -B "$BUILD" -DFRUGAL_ADDON=OFF -DFRUGAL_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" \
  -DCMAKE_BUILD_TYPE=Release >"$LOGS/configure.log" 2>&1 || { tail -30 "$LOGS/configure.log"; die "configure failed (log: $LOGS/configure.log)"; }

say "build (-j$JOBS)"
cmake --build "$BUILD" -j "$JOBS" >"$LOGS/build.log" 2>&1 || { grep -E 'error|Error' "$LOGS/build.log" | head -40; die "build failed (log: $LOGS/build.log)"; }

say "CUDA tests"
(cd "$BUILD" && ctest -R '^cuda_test_' --output-on-failure --timeout 240 -j 4) 2>&1 | tee "$LOGS/cuda-tests.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed=1

cpu_summary="skipped (SKIP_CPU_TESTS=1)"
if [ "${SKIP_CPU_TESTS:-0}" != "1" ]; then
  say "CPU tests"
  (cd "$BUILD" && ctest -E '^cuda_test_' --timeout 240 -j "$JOBS") >"$LOGS/cpu-tests.log" 2>&1
  cpu_rc=$?
  cpu_summary="$(grep -E 'tests passed' "$LOGS/cpu-tests.log" | tail -1)"
  if [ "$cpu_rc" -ne 0 ]; then
    failed=1
    cpu_summary="FAIL: ${cpu_summary:-see $LOGS/cpu-tests.log} ($(grep -E '\*\*\*(Failed|Exception|Timeout)' "$LOGS/cpu-tests.log" | awk '{print $4}' | tr '\n' ' '))"
  fi
fi

say "CUDA benchmark"
if [ -x "$BUILD/cuda_bench" ]; then
  timeout 240 "$BUILD/cuda_bench" 2>&1 | tee "$LOGS/bench.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || { failed=1; echo "gpu-check: cuda_bench failed" >&2; }
else
  echo "gpu-check: $BUILD/cuda_bench was not built" | tee "$LOGS/bench.log"
  failed=1
fi

# One line per family: the ctest verdict of cuda_test_<family> and the
# benchmark's "key <family> ..." line when it has one.
say "summary"
printf '%-14s %-8s %s\n' "family" "result" "key figure"
for src in native/tests/cuda_test_*.cc; do
  [ -e "$src" ] || continue
  name="$(basename "$src" .cc)"
  family="${name#cuda_test_}"
  line="$(grep -E "Test +#[0-9]+: $name " "$LOGS/cuda-tests.log" | tail -1)"
  case "$line" in
    *Passed*) result="pass" ;;
    *Skipped*|*"Not Run"*) result="skipped"; failed=1 ;;
    "") result="missing"; failed=1 ;;
    *) result="FAIL"; failed=1 ;;
  esac
  key="$(grep -E "^key $family " "$LOGS/bench.log" | head -1 | cut -d' ' -f3-)"
  printf '%-14s %-8s %s\n' "$family" "$result" "${key:--}"
done
printf '%-14s %s\n' "cpu tests" "$cpu_summary"
say "done: $([ "$failed" -eq 0 ] && echo 'all passed' || echo 'FAILURES above') (logs: $LOGS)"
exit "$failed"
