// SPDX-License-Identifier: GPL-2.0-only
/* `dump --compress zstd` and `dump --bundle zip|tar`: the sinks and the metadata. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/jsonutil.h"
#include "common/output.h"
#include "dump/bundle.h"
#include "dump/dump_output.h"
#include "dump/sink_file.h"
#include "dump/sink_zstd.h"
#include "inspect/inspect.h"

extern const char *argp_program_version;

struct dump_output {
	struct dump_output_opts o;
	pid_t pid;
	struct bundle *bundle;
	struct core_sink *zstd; /* the zstd sink of a .core.zst, for its facts */
	json_t *process;	/* `show` of the target before the dump */
	const char *zstd_note;
	double t0_ms, start_epoch;
};

static double monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int dump_output__parse_bundle(const char *s, enum dump_bundle *out)
{
	if (!strcmp(s, "zip"))
		*out = DUMP_BUNDLE_ZIP;
	else if (!strcmp(s, "tar"))
		*out = DUMP_BUNDLE_TAR;
	else
		return -EINVAL;
	return 0;
}

int dump_output__parse_compress(const char *s, bool *zstd)
{
	if (strcmp(s, "zstd"))
		return -EINVAL;
	*zstd = true;
	return 0;
}

const char *dump_output__refusal(const struct dump_output_opts *o)
{
	if (o->bundle == DUMP_BUNDLE_ZIP && o->zstd)
		return "--compress zstd does not apply to --bundle zip: its entries are "
		       "deflated, the compression every unzip reads; use --bundle tar "
		       "--compress zstd for a .tar.zst";
	return NULL;
}

const char *dump_output__suffix(const struct dump_output_opts *o)
{
	switch (o->bundle) {
	case DUMP_BUNDLE_ZIP:
		return ".zip";
	case DUMP_BUNDLE_TAR:
		return o->zstd ? ".tar" SINK_ZSTD_SUFFIX : ".tar";
	default:
		return o->zstd ? ".core" SINK_ZSTD_SUFFIX : ".core";
	}
}

static const char *bundle_name(enum dump_bundle b)
{
	return b == DUMP_BUNDLE_ZIP ? "zip" : b == DUMP_BUNDLE_TAR ? "tar" : NULL;
}

static int open_bundle(struct dump_output *d, const char *path, const char *core_name,
		       struct core_sink **sink, char *why, size_t why_len)
{
	struct bundle_opts bo = {
		.format = d->o.bundle == DUMP_BUNDLE_ZIP ? BUNDLE_ZIP : BUNDLE_TAR,
		.zstd = d->o.zstd,
		.force = d->o.force,
	};
	struct show_opts so = { 0 };
	int err;

	err = d->o.dest ? bundle__open_sink(d->o.dest, &bo, &d->bundle)
			: bundle__open(path, &bo, &d->bundle);
	if (err) {
		snprintf(why, why_len, "%s", d->bundle && bundle__error(d->bundle)[0]
						     ? bundle__error(d->bundle)
						     : strerror(-err));
		return err;
	}
	/* The process as `show` sees it, before the dump. Not fatal: the dump says
	 * whether the process is there. */
	if (inspect__process_detail(d->pid, &so, &d->process))
		d->process = NULL;
	/* Copying the files does not need the target stopped: do it before the freeze. */
	err = bundle__add_process_files(d->bundle, d->pid);
	/* No process, a zombie, a kernel thread: the dumper says which, in its words. */
	if (err && err != -ENOENT && err != -ESRCH) {
		snprintf(why, why_len, "%s", bundle__error(d->bundle));
		return err;
	}
	err = bundle__core_sink(d->bundle, core_name, sink);
	if (err)
		snprintf(why, why_len, "invalid core name '%s' in the bundle", core_name);
	return err;
}

int dump_output__open(const struct dump_output_opts *o, pid_t pid, const char *path,
		      const char *core_name, struct dump_output **out, struct core_sink **sink,
		      char *why, size_t why_len)
{
	struct dump_output *d;
	struct core_sink *file = NULL;
	const char *refusal = dump_output__refusal(o);
	int err;

	*sink = NULL;
	*out = d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	d->o = *o;
	d->pid = pid;
	d->t0_ms = monotonic_ms();
	d->start_epoch = time(NULL);
	if (refusal) {
		snprintf(why, why_len, "%s", refusal);
		return -EINVAL;
	}
	if (sink_zstd_max_workers(&d->zstd_note) == 0 && o->zstd)
		output_warn("%s", d->zstd_note);

	if (o->bundle != DUMP_BUNDLE_NONE)
		return open_bundle(d, path, core_name, sink, why, why_len);

	err = sink_file__open(path, o->force, &file, why, why_len);
	if (err || !o->zstd) {
		*sink = file;
		return err;
	}
	err = sink_zstd__open(file, NULL, &d->zstd);
	if (err) {
		file->abort(file);
		file->free(file);
		snprintf(why, why_len, "cannot start zstd: %s", strerror(-err));
		return err;
	}
	*sink = d->zstd;
	return 0;
}

static json_t *compression_json(struct dump_output *d, struct core_sink *z)
{
	json_t *j = json_pack("{s:s, s:i, s:i}", "method", "zstd", "level", sink_zstd__level(z),
			      "workers", sink_zstd__workers(z));

	if (j && d->zstd_note)
		json_object_set_new(j, "note", json_string(d->zstd_note));
	return j;
}

int dump_output__finish(struct dump_output *d, json_t *result, char *why, size_t why_len)
{
	json_t *meta, *options, *b;
	int err;

	if (d->zstd) {
		json_object_set_new(result, "compression", compression_json(d, d->zstd));
		return 0;
	}
	if (!d->bundle)
		return 0;

	/* What the process loaded between the first pass and the freeze (a dlopen). A
	 * process that exited since then is no failure: its core is complete. */
	err = bundle__add_process_files(d->bundle, d->pid);
	if (err && err != -ESRCH && err != -ENOENT) {
		snprintf(why, why_len, "%s", bundle__error(d->bundle));
		return err;
	}

	options = json_pack("{s:O?, s:O?, s:s?, s:s?, s:b}", "type",
			    json_object_get(result, "type"), "filter",
			    json_object_get(result, "filter"), "bundle", bundle_name(d->o.bundle),
			    "compress", d->o.zstd ? "zstd" : NULL, "force", d->o.force);
	meta = json_pack("{s:s?, s:o, s:i, s:O?, s:{s:o, s:O}, s:{s:f}}", "tracedump",
			 argp_program_version, "created", json_time_iso(d->start_epoch), "pid",
			 d->pid, "process", d->process, "dump", "options", options, "result",
			 result, "timings_ms", "until_metadata", monotonic_ms() - d->t0_ms);
	if (!meta) {
		snprintf(why, why_len, "out of memory building metadata.json");
		bundle__abort(d->bundle);
		return -ENOMEM;
	}
	err = bundle__finish(d->bundle, meta);
	if (err) {
		snprintf(why, why_len, "%s", bundle__error(d->bundle));
		json_decref(meta);
		return err;
	}
	b = json_object_get(meta, "bundle");
	json_object_set_new(
		result, "bundle",
		json_pack("{s:O, s:O, s:O, s:i, s:i, s:i}", "format", json_object_get(b, "format"),
			  "core", json_object_get(b, "core"), "executable",
			  json_object_get(b, "executable"), "files",
			  (int)json_array_size(json_object_get(b, "files")), "links",
			  (int)json_array_size(json_object_get(b, "links")), "skipped",
			  (int)json_array_size(json_object_get(b, "skipped"))));
	if (d->o.zstd)
		json_object_set(json_object_get(result, "bundle"), "zstd_workers",
				json_object_get(b, "zstd_workers"));
	json_object_set_new(json_object_get(result, "bundle"), "size",
			    json_integer((json_int_t)bundle__size(d->bundle)));
	json_object_set_new(result, "bytes_written",
			    json_integer((json_int_t)bundle__bytes_out(d->bundle)));
	json_decref(meta);
	return 0;
}

void dump_output__free(struct dump_output *d)
{
	if (!d)
		return;
	/* A .core.zst's sink is freed by dump.c, like a file sink. */
	bundle__free(d->bundle);
	json_decref(d->process);
	free(d);
}
