# Shared by the CI scripts that print PASS/FAIL lines: source it, set failures=0 and
# section_start=$SECONDS, and end with finish_section NAME.
pass() { echo "PASS $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}
# A failed prerequisite makes the remaining checks meaningless.
die() {
    echo "FAIL $*"
    exit 1
}

# Ends a section: its one summary line, and exit 1 when a check failed. Needs $section_start
# (SECONDS at the start) and $failures.
finish_section() {
    local elapsed=$((SECONDS - section_start))
    if [ "$failures" -eq 0 ]; then
        echo "PASS $1 section (${elapsed}s)"
    else
        echo "FAIL $1 section: $failures check(s) failed (${elapsed}s)"
        exit 1
    fi
}
