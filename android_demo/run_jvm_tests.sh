#!/usr/bin/env bash
# Compile the app's plain-Java core (com.jitteredge.core, no android.* imports) and its JUnit 4 tests
# with the system JDK, run them against the golden vectors in app/src/test/resources/golden/, and
# print "N passed, F failed". Exits non-zero on any failure. Needs javac/java (JDK 17+) and JUnit 4
# (Debian/Ubuntu package junit4, installed here non-interactively when missing).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/build/jvm-tests"
MAIN_SRC="$HERE/app/src/main/java/com/jitteredge/core"
TEST_SRC="$HERE/app/src/test/java"
TEST_RES="$HERE/app/src/test/resources"
JUNIT_JAR="${JUNIT_JAR:-/usr/share/java/junit4.jar}"
HAMCREST_JAR="${HAMCREST_JAR:-/usr/share/java/hamcrest-core.jar}"

for tool in javac java; do
    command -v "$tool" >/dev/null || { echo "run_jvm_tests.sh: $tool not found (install a JDK 17+)" >&2; exit 2; }
done

if [[ ! -f "$JUNIT_JAR" ]]; then
    echo "run_jvm_tests.sh: $JUNIT_JAR missing; installing junit4" >&2
    SUDO=""
    [[ "$(id -u)" -ne 0 ]] && SUDO="sudo -n"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -q junit4 >&2 || { $SUDO apt-get update -q >&2 && $SUDO apt-get install -y -q junit4 >&2; } \
        || { echo "run_jvm_tests.sh: cannot install junit4; set JUNIT_JAR and HAMCREST_JAR" >&2; exit 2; }
fi
[[ -f "$HAMCREST_JAR" ]] || HAMCREST_JAR="/usr/share/java/hamcrest.jar"

rm -rf "$OUT"
mkdir -p "$OUT/main" "$OUT/test"
javac --release 17 -Xlint:all -Werror -encoding UTF-8 -d "$OUT/main" "$MAIN_SRC"/*.java
mapfile -t test_files < <(find "$TEST_SRC" -name '*.java' | sort)
javac --release 17 -Xlint:all -Werror -encoding UTF-8 -cp "$OUT/main:$JUNIT_JAR" -d "$OUT/test" "${test_files[@]}"

mapfile -t test_classes < <(cd "$TEST_SRC" && find . -name '*Test.java' | sort | sed -e 's|^\./||' -e 's|\.java$||' -e 's|/|.|g')
CP="$OUT/main:$OUT/test:$TEST_RES:$JUNIT_JAR:$HAMCREST_JAR"
set +e
java -cp "$CP" org.junit.runner.JUnitCore "${test_classes[@]}" 2>&1 | tee "$OUT/junit.log"
rc=${PIPESTATUS[0]}
set -e

# JUnit 4 ends with "OK (N tests)" or "Tests run: N,  Failures: F".
if ok=$(grep -Eo '^OK \([0-9]+ tests?\)' "$OUT/junit.log" | grep -Eo '[0-9]+'); then
    run=$ok failed=0
elif line=$(grep -E '^Tests run: [0-9]+, +Failures: [0-9]+' "$OUT/junit.log"); then
    run=$(sed -E 's/^Tests run: ([0-9]+).*/\1/' <<<"$line")
    failed=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
else
    echo "run_jvm_tests.sh: no JUnit summary found (exit $rc)" >&2
    exit $(( rc == 0 ? 1 : rc ))
fi
echo "$((run - failed)) passed, $failed failed"
[[ $rc -eq 0 && $failed -eq 0 ]]
