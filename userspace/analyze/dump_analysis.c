// SPDX-License-Identifier: GPL-2.0-only
/* The analysis of a dump just written (`dump --analyze`): a file beside it, a summary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "common/output.h"

int analyze__dump(const char *dump_path, json_t *result)
{
	json_t *a = NULL, *summary = json_object(), *top = json_array(), *g;
	char why[512] = "", *written = NULL;
	size_t i;
	int err;

	if (!summary || !top) {
		json_decref(summary);
		json_decref(top);
		return -ENOMEM;
	}
	err = analyze__core(dump_path, NULL, &a, why, sizeof(why));
	if (!err) {
		err = analyze__write_beside(dump_path, a, &written);
		if (err)
			snprintf(why, sizeof(why), "cannot write the analysis beside the dump: %s",
				 strerror(-err));
	}
	if (err) {
		output_warn("the dump is complete, its analysis failed: %s", why);
		json_object_set_new(summary, "path", json_null());
		json_object_set_new(summary, "error", json_string(why));
	} else {
		json_object_set_new(summary, "path", json_string(written));
		json_object_set_new(summary, "error", json_null());
		json_object_set(summary, "thread_count", json_object_get(a, "thread_count"));
		json_object_set(summary, "signal", json_object_get(a, "signal"));
		/* The three largest groups: the first answer without opening the file. */
		json_array_foreach(json_object_get(a, "groups"), i, g) {
			if (i == 3)
				break;
			json_array_append_new(top, json_pack("{s:O, s:O}", "count",
					      json_object_get(g, "count"), "top_function",
					      json_object_get(g, "top_function")));
		}
		json_object_set(summary, "duration_ms", json_object_get(a, "duration_ms"));
	}
	json_object_set_new(summary, "groups", top);
	json_object_set_new(result, "analysis", summary);
	json_decref(a);
	free(written);
	return err;
}

void analyze__print_dump_summary(FILE *f, json_t *result)
{
	json_t *an = json_object_get(result, "analysis"), *g;
	const char *path = json_string_value(json_object_get(an, "path"));
	const char *error = json_string_value(json_object_get(an, "error"));
	size_t i;

	if (!an)
		return;
	fprintf(f, "%-14s %s\n", "analysis", path ? path : error ? error : "-");
	json_array_foreach(json_object_get(an, "groups"), i, g) {
		const char *fn = json_string_value(json_object_get(g, "top_function"));

		fprintf(f, "%-14s %lld in %s\n", i ? "" : "stacks",
			json_integer_value(json_object_get(g, "count")), fn ? fn : "??");
	}
}
