#!/bin/sh
# Grades every server of a class with `grade`, one line of result each, and
# keeps each student's report (text, and JUnit XML for a CI or a grade book)
# in grades/. The list has one student a line, a name and where the server is:
#
#   alice 10.0.0.12:2002                               a running server
#   bob   python3 ../bob/reverse_server.py {port}      a command: grade starts it
#
# Usage: sh exercises/tools/grade_class.sh PROTOCOL LIST [SEED]
# The same seed for everyone: everyone gets the checks in the same order.
set -u
protocol=$1
list=$2
seed=${3:-1}
grade=${GRADE:-cargo run -q -p exercises --}
mkdir -p grades
while read -r name target; do
    case "$name" in '' | '#'*) continue ;; esac
    case "$target" in
    *'{port}'*) how=--run ;;
    *) how=--addr ;;
    esac
    # </dev/null: grade and the server never eat the rest of the list.
    if $grade grade "$protocol" "$how" "$target" --seed "$seed" \
        --junit "grades/$name.xml" >"grades/$name.txt" 2>&1 </dev/null; then
        echo "$name: passed"
    else
        echo "$name: FAILED $(grep -c '^FAILED ' "grades/$name.txt") checks (grades/$name.txt)"
    fi
done <"$list"
