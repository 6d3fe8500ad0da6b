// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for the snapshot's pure parts (userspace/dump/snapshot.c, capture.c): the
 * VmFlags that decide what a fork lacks, and the result JSON. The fork itself is
 * tested for real in tests/integration/test_snapshot.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "dump/capture.h"
#include "dump/snapshot.h"

/* The mapping that holds @addr (a plain one may have merged with a neighbour). */
static const struct capture_map *find(const struct capture *cap, void *addr)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;

	for (size_t i = 0; i < cap->map_count; i++)
		if (cap->maps[i].start <= a && a < cap->maps[i].end)
			return &cap->maps[i];
	return NULL;
}

/* smaps "dc" and "wf" of this very process's madvised mappings. */
static void test_vmflags_dontfork_wipeonfork(void **state)
{
	size_t len = 4 * 4096;
	char *plain = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dontfork = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0);
	char *wipe = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct capture cap = {};
	const struct capture_map *m;

	(void)state;
	assert_true(plain != MAP_FAILED && dontfork != MAP_FAILED && wipe != MAP_FAILED);
	assert_int_equal(madvise(dontfork, len, MADV_DONTFORK), 0);
	assert_int_equal(madvise(wipe, len, MADV_WIPEONFORK), 0);
	assert_int_equal(capture__read_maps(getpid(), &cap), 0);
	m = find(&cap, dontfork);
	assert_non_null(m);
	assert_true(m->vmflags & VMF_DONTCOPY);
	assert_false(m->vmflags & VMF_WIPEONFORK);
	m = find(&cap, wipe);
	assert_non_null(m);
	assert_true(m->vmflags & VMF_WIPEONFORK);
	assert_false(m->vmflags & VMF_DONTCOPY);
	m = find(&cap, plain);
	assert_non_null(m);
	assert_false(m->vmflags & (VMF_DONTCOPY | VMF_WIPEONFORK));
	capture__free(&cap);
	munmap(plain, len);
	munmap(dontfork, len);
	munmap(wipe, len);
}

static void test_json_not_used(void **state)
{
	struct snapshot snap = {};
	json_t *o;

	(void)state;
	snprintf(snap.reason, sizeof(snap.reason), "clone() failed in the process: x");
	o = snapshot__json(&snap);
	assert_non_null(o);
	assert_true(json_is_false(json_object_get(o, "used")));
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
			    "clone() failed in the process: x");
	assert_null(json_object_get(o, "warning"));
	json_decref(o);
	/* A copy left behind says so, used or not. */
	snprintf(snap.reap_note, sizeof(snap.reap_note), "left");
	o = snapshot__json(&snap);
	assert_string_equal(json_string_value(json_object_get(o, "warning")), "left");
	json_decref(o);
}

static void test_json_used(void **state)
{
	struct snapshot snap = { .used = true, .thread = 42, .fork_ns = 2500000,
				 .reap_pause_ns = 500000, .cow_bytes = 4096,
				 .page_table_bytes = 8192 };
	json_t *o;

	(void)state;
	snap.absent = json_array();
	json_array_append_new(snap.absent, json_pack("{s:s}", "madvise", "MADV_DONTFORK"));
	o = snapshot__json(&snap);
	assert_non_null(o);
	assert_true(json_is_true(json_object_get(o, "used")));
	assert_int_equal(json_integer_value(json_object_get(o, "thread")), 42);
	assert_true(json_real_value(json_object_get(o, "fork_ms")) == 2.5);
	assert_true(json_real_value(json_object_get(o, "reap_pause_ms")) == 0.5);
	assert_int_equal(json_integer_value(json_object_get(o, "extra_bytes")), 4096 + 8192);
	assert_int_equal(json_array_size(json_object_get(o, "absent")), 1);
	json_decref(o);
	snapshot__free(&snap);
	assert_null(snap.absent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmflags_dontfork_wipeonfork),
		cmocka_unit_test(test_json_not_used),
		cmocka_unit_test(test_json_used),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
