#!/bin/sh
# Runs each cmocka test program given as an argument from the repository
# root, prints its output, and ends with a summary; exits 1 if any failed.
failed=""
passed=0
for t in "$@"; do
    echo "== $t"
    if "$t"; then passed=$((passed + 1)); else failed="$failed $t"; fi
done
echo
if [ -n "$failed" ]; then
    echo "tests: $passed passed; FAILED:$failed"
    exit 1
fi
echo "tests: all $passed programs passed"
