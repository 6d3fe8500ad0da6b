// SPDX-License-Identifier: GPL-2.0-only
/* Thread order, groups and the readable report of analyze/stack. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/report.h"
#include "analyze/stacks.h"
#include "common/jsonutil.h"

void report__order_threads(json_t *threads, pid_t first_tid, pid_t pid)
{
	size_t i;
	json_t *t;

	json_array_foreach(threads, i, t) {
		json_int_t id = json_integer_value(json_object_get(t, "id"));

		json_set(t, "is_main_thread", json_boolean(pid > 0 && id == pid));
	}
	if (!first_tid)
		return;
	json_array_foreach(threads, i, t) {
		if (json_integer_value(json_object_get(t, "id")) == first_tid) {
			if (i > 0) {
				json_incref(t);
				json_array_remove(threads, i);
				json_array_insert_new(threads, 0, t);
			}
			return;
		}
	}
}

json_t *report__thread_by_id(json_t *threads, pid_t tid)
{
	size_t i;
	json_t *t;

	json_array_foreach(threads, i, t)
		if (json_integer_value(json_object_get(t, "id")) == tid)
			return t;
	return NULL;
}

void report__add_threads(json_t *j, json_t *threads, pid_t crashed_tid, pid_t first_tid)
{
	size_t i;
	json_t *t;

	json_array_foreach(threads, i, t)
		json_set(t, "crashed", json_boolean(crashed_tid &&
			 json_integer_value(json_object_get(t, "id")) == crashed_tid));
	json_set(j, "crashing_thread_id", crashed_tid ? json_integer(crashed_tid) : json_null());
	json_set(j, "thread_count", json_integer((json_int_t)json_array_size(threads)));
	json_set(j, "groups", stacks__group(threads, first_tid));
	json_set(j, "threads", threads);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

/* Control characters from a name or a command line would break the table's lines. */
static void print_safe(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < ' ' ? '?' : *s, f);
}

static void print_frames(FILE *f, json_t *frames)
{
	char buf[1024];
	size_t i;
	json_t *fr;

	json_array_foreach(frames, i, fr) {
		stacks__frame_text(fr, buf, sizeof(buf));
		fprintf(f, "  #%-3zu %-18s ", i, str(fr, "pc"));
		print_safe(f, buf);
		fputc('\n', f);
	}
}

static void print_size(FILE *f, double b)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	fprintf(f, "%7.1f %-3s", b, units[u]);
}

void report__print(FILE *f, json_t *j)
{
	json_t *p = json_object_get(j, "process"), *sig = json_object_get(j, "signal");
	json_t *groups = json_object_get(j, "groups"), *threads = json_object_get(j, "threads");
	json_t *maps = json_object_get(j, "mappings"), *g, *w;
	json_t *pause = json_object_get(j, "pause_ms");
	size_t i, k;

	fprintf(f, "process   ");
	print_safe(f, str(p, "name"));
	fprintf(f, " (pid %lld)  ", json_integer_value(json_object_get(p, "id")));
	print_safe(f, str(p, "executable"));
	fprintf(f, "\ncommand   ");
	print_safe(f, str(p, "command_line"));
	fputc('\n', f);
	if (json_is_object(sig)) {
		fprintf(f, "signal    %s", str(sig, "name"));
		if (json_string_value(json_object_get(sig, "code_name")))
			fprintf(f, " (%s)", str(sig, "code_name"));
		if (json_string_value(json_object_get(sig, "fault_address")))
			fprintf(f, " at %s", str(sig, "fault_address"));
		fprintf(f, " in thread %lld\n", json_integer_value(json_object_get(sig, "thread_id")));
	} else if (!pause) {
		fprintf(f, "signal    none (a dump of a live process)\n");
	}
	if (json_is_number(pause))
		fprintf(f, "paused    %.1f ms\n", json_number_value(pause));
	fprintf(f, "threads   %zu in %zu groups of identical stacks\n", json_array_size(threads),
		json_array_size(groups));
	json_array_foreach(groups, i, g) {
		json_t *ids = json_object_get(g, "thread_ids"), *id;
		json_int_t first = json_integer_value(json_array_get(ids, 0));
		json_t *t = report__thread_by_id(threads, (pid_t)first);
		size_t count = json_array_size(ids);

		fputc('\n', f);
		if (count == 1) {
			fprintf(f, "thread %lld", first);
			if (t && json_string_value(json_object_get(t, "name"))) {
				fputs(" ", f);
				print_safe(f, str(t, "name"));
			}
			if (t && json_is_true(json_object_get(t, "crashed")))
				fprintf(f, " (crashed: %s)", str(sig, "name"));
			fputc('\n', f);
		} else {
			fprintf(f, "%zu threads with this stack:", count);
			json_array_foreach(ids, k, id) {
				if (k == 12) {
					fprintf(f, " ...");
					break;
				}
				fprintf(f, " %lld", json_integer_value(id));
			}
			fputc('\n', f);
		}
		print_frames(f, json_object_get(g, "frames"));
		if (t && json_string_value(json_object_get(t, "unwind_error")))
			fprintf(f, "  (unwinding stopped: %s)\n", str(t, "unwind_error"));
	}
	if (json_is_object(maps)) {
		fprintf(f, "\nmappings  %lld, ", json_integer_value(json_object_get(maps, "count")));
		print_size(f, (double)json_integer_value(json_object_get(maps, "total_size")));
		fprintf(f, " in all; the largest:\n  %11s %-4s %-18s %s\n", "SIZE", "PERM", "START",
			"PATH");
		json_array_foreach(json_object_get(maps, "largest"), i, g) {
			fputs("  ", f);
			print_size(f, (double)json_integer_value(json_object_get(g, "size")));
			fprintf(f, " %-4s %-18s ", str(g, "permissions"), str(g, "start"));
			print_safe(f, json_string_value(json_object_get(g, "path"))
					      ? str(g, "path") : "[anonymous]");
			fputc('\n', f);
		}
	}
	if (json_object_get(j, "trigger") && !json_is_null(json_object_get(j, "trigger")))
		fprintf(f, "\ntrigger   %s\n", str(j, "trigger_file"));
	json_array_foreach(json_object_get(j, "warnings"), i, w)
		fprintf(f, "warning   %s\n", json_string_value(w));
}
