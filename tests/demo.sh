#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The main job on the bundled demo target (README, first command): start
# build/tests/targets/demo, show its process, threads and modules, dump it (gdb opens
# the core), analyze the core, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
td=build/tracedump
out=$(mktemp -d /tmp/tracedump-demo.XXXXXX)
demo_pid=
cleanup() {
	[ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
	rm -rf "$out"
}
trap cleanup EXIT

build/tests/targets/demo 3 > "$out/demo.out" &
demo_pid=$!
for _ in $(seq 100); do grep -q ready "$out/demo.out" 2>/dev/null && break; sleep 0.05; done

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "tracedump show $demo_pid | jq '{id, name, file_name, thread_count, module_count, working_set}'"
$td show "$demo_pid" | jq '{id, name, file_name, thread_count, module_count, working_set}'

step "tracedump threads $demo_pid | jq -c '.[] | {id, name, state}'"
$td threads "$demo_pid" | jq -c '.[] | {id, name, state}'

step "tracedump modules $demo_pid | jq -c '.[] | {base_address, file_name, build_id}'"
$td modules "$demo_pid" | jq -c '.[] | {base_address, file_name, build_id}'

step "tracedump dump $demo_pid --snapshot -o $out/demo.core | jq"
$td dump "$demo_pid" --snapshot -o "$out/demo.core" |
	jq '{path, bytes_written, threads, pause_ms, snapshot: .snapshot.used}'

step "gdb -batch -ex 'thread apply all bt 3' build/tests/targets/demo $out/demo.core"
gdb -batch -ex 'thread apply all bt 3' build/tests/targets/demo "$out/demo.core" 2>/dev/null |
	grep -E '^(Thread|#)' | head -20

step "tracedump analyze $out/demo.core | jq -c '.groups[] | {count, stack: [.frames[].function]}'"
$td analyze "$out/demo.core" | jq -c '.groups[] | {count, stack: [.frames[].function]}'

step "kill $demo_pid"
kill "$demo_pid"
wait "$demo_pid" || true
demo_pid=
echo "demo done: the target ran and stopped normally."
