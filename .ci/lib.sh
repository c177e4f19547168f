# Shared by the CI scripts that print PASS/FAIL lines: source it, set failures=0, and end with
# the script's own summary of $failures.
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
