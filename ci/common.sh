# Sourced by the ci/ scripts and ./ibot4j: repository paths, JDK and LibTorch discovery.
# Each function prints one sentence on failure saying what is missing and how to get it.

IBOT4J_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IBOT4J_CACHE="${IBOT4J_CACHE:-$IBOT4J_ROOT/.cache}"
IBOT4J_BUILD="${IBOT4J_BUILD:-$IBOT4J_ROOT/build}"
IBOT4J_TORCH_VERSION="2.13.0"
# jextract's output uses SymbolLookup.findOrThrow, new in JDK 23.
IBOT4J_MIN_JDK=23

die() { echo "ibot4j: $*" >&2; exit 1; }

jdk_major() { # $1 = a java binary
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'
}

# Sets JAVA_HOME to a JDK >= IBOT4J_MIN_JDK: $JAVA_HOME, then java on PATH, then /usr/lib/jvm/*.
find_jdk() {
  local candidates=() c v failed=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for c in /usr/lib/jvm/*; do [ -d "$c" ] && candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    # A JVM that cannot start (a thread or memory limit) must not end this script silently under set -e.
    v=$(jdk_major "$c/bin/java" 2>/dev/null || true)
    [ -n "$v" ] || failed+=("$c")
    if [ -n "$v" ] && [ "${v%%.*}" -ge "$IBOT4J_MIN_JDK" ] 2>/dev/null; then
      export JAVA_HOME="$c"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  [ "${#failed[@]}" -eq 0 ] ||
    die "'java -version' failed for ${failed[*]}: the process may be at a thread, process or memory limit (ulimit -u, a cgroup's pids.max or memory.max); raise it and try again."
  die "no JDK >= $IBOT4J_MIN_JDK found (looked at \$JAVA_HOME, java on PATH and /usr/lib/jvm/*); install one, e.g. 'apt-get install openjdk-25-jdk-headless' or Temurin 25, or set JAVA_HOME to it."
}

# Prints the LibTorch root (with include/, lib/, share/cmake/Torch), in the documented order:
# $LIBTORCH, then LIBTORCH_USE_PYTORCH=1 (the installed Python torch), then the repo cache.
find_libtorch() {
  if [ -n "${LIBTORCH:-}" ]; then
    [ -f "$LIBTORCH/share/cmake/Torch/TorchConfig.cmake" ] ||
      die "LIBTORCH=$LIBTORCH does not look like LibTorch (no share/cmake/Torch/TorchConfig.cmake); point it at the unpacked LibTorch folder or unset it."
    echo "$LIBTORCH"; return 0
  fi
  if [ "${LIBTORCH_USE_PYTORCH:-}" = "1" ]; then
    local py="${PYTHON:-python3}" dir
    dir=$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null) ||
      die "LIBTORCH_USE_PYTORCH=1 but '$py -c \"import torch\"' failed; install torch for that Python or unset LIBTORCH_USE_PYTORCH."
    echo "$dir"; return 0
  fi
  if [ -f "$IBOT4J_CACHE/libtorch/share/cmake/Torch/TorchConfig.cmake" ]; then
    echo "$IBOT4J_CACHE/libtorch"; return 0
  fi
  die "no LibTorch: set LIBTORCH=<dir> (official zip layout), or LIBTORCH_USE_PYTORCH=1, or run ci/libtorch to fetch torch==$IBOT4J_TORCH_VERSION into $IBOT4J_CACHE/libtorch."
}

native_library() { echo "$IBOT4J_BUILD/native/libibot4j.so"; }

# Runs the benchmark programs (org.ibot4j.benchmarks.Bench: step, data); they are not part of the shipped CLI.
bench() {
  find_jdk
  if [ ! -d "$IBOT4J_ROOT/benchmarks/target/lib" ] || [ ! -f "$(native_library)" ]; then
    "$IBOT4J_ROOT/ci/build-native" >/dev/null
    (cd "$IBOT4J_ROOT" && mvn -B -q -DskipTests install) >&2 || die "the Maven build failed (output above)."
  fi
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dibot4j.root="$IBOT4J_ROOT" ${IBOT4J_LIBRARY:+-Dibot4j.library="$IBOT4J_LIBRARY"} \
    -cp "$IBOT4J_ROOT/benchmarks/target/classes:$IBOT4J_ROOT/benchmarks/target/lib/*" org.ibot4j.benchmarks.Bench "$@"
}

# Prints the Python of the benchmarks' venv (.cache/venv: torch, numpy, safetensors, pillow), making it
# from the configured wheels when missing.
bench_python() {
  local venv="$IBOT4J_CACHE/venv"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch, numpy, PIL, safetensors' 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q "torch==$IBOT4J_TORCH_VERSION" numpy safetensors pillow >&2 ||
      die "could not install torch==$IBOT4J_TORCH_VERSION, numpy, safetensors and pillow into $venv (it installs from the configured wheels)."
  fi
  echo "$venv/bin/python"
}
