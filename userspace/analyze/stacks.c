// SPDX-License-Identifier: GPL-2.0-only
/* Unwinding and symbolization with libdwfl; grouping of identical stacks. */
#include <dwarf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stacks.h"
#include "common/jsonutil.h"
#include "trace/event_json.h" /* demangle_type */

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path;
}

static json_t *module_build_id(Dwfl_Module *mod)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	char hex[2 * 64 + 1];
	int len = dwfl_module_build_id(mod, &bits, &vaddr);

	if (len <= 0 || len > 64)
		return json_null();
	for (int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", bits[i]);
	return json_string(hex);
}

/*
 * Functions inlined at @lookup, innermost first, each with the place it was inlined at
 * (DW_AT_call_file, DW_AT_call_line): what gdb shows as frames of their own. Empty
 * without DWARF.
 */
static json_t *inlined_json(Dwfl_Module *mod, Dwarf_Addr lookup)
{
	Dwarf_Files *files = NULL;
	Dwarf_Die *scopes = NULL, *cu;
	Dwarf_Addr bias;
	size_t nfiles = 0;
	json_t *arr = json_array();
	int n;

	cu = dwfl_module_addrdie(mod, lookup, &bias);
	if (!cu || !arr)
		return arr;
	n = dwarf_getscopes(cu, lookup - bias, &scopes);
	if (n > 0 && dwarf_getsrcfiles(cu, &files, &nfiles))
		files = NULL;
	for (int i = 0; i < n; i++) {
		Dwarf_Word file = 0, line = 0;
		Dwarf_Attribute attr;
		const char *src = NULL;
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_subprogram)
			break; /* the function the symbol table names */
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &file) == 0 &&
		    files && file < nfiles)
			src = dwarf_filesrc(files, file, NULL, NULL);
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &line))
			line = 0;
		json_array_append_new(arr, json_pack("{s:o, s:o, s:o}", "function",
			json_string_cstr(dwarf_diename(&scopes[i])), "call_file",
			json_string_cstr(src), "call_line",
			line ? json_integer((json_int_t)line) : json_null()));
	}
	free(scopes);
	return arr;
}

json_t *stacks__frame(Dwfl *dwfl, size_t index, Dwarf_Addr pc, bool activation)
{
	/* A return address points after the call: look up the call itself. */
	Dwarf_Addr lookup = activation || pc == 0 ? pc : pc - 1;
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, lookup);
	json_t *f = json_object();
	const char *name = NULL, *modname = NULL, *src = NULL;
	Dwarf_Addr start = 0, bias = 0;
	GElf_Off off = 0;
	GElf_Sym sym;
	int lineno = 0;

	if (!f)
		return NULL;
	json_set(f, "index", json_integer((json_int_t)index));
	json_set(f, "pc", json_hex(pc));
	if (mod) {
		Elf *elf;

		modname = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
		name = dwfl_module_addrinfo(mod, lookup, &off, &sym, NULL, NULL, NULL);
		elf = dwfl_module_getelf(mod, &bias);
		if (!elf)
			bias = start;
		Dwfl_Line *line = dwfl_module_getsrc(mod, lookup);
		if (line)
			src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
	}
	/* C++ names as people read them ("thrower(void*)"), the symbol kept beside. */
	if (name && name[0] == '_' && name[1] == 'Z') {
		char demangled[1024];

		demangle_type(name, demangled, sizeof(demangled));
		json_set(f, "function", json_string_cstr(demangled));
		json_set(f, "mangled", json_string_cstr(name));
	} else {
		json_set(f, "function", name ? json_string_cstr(name) : json_null());
		json_set(f, "mangled", json_null());
	}
	json_set(f, "offset", name ? json_integer((json_int_t)(off + (pc - lookup))) : json_null());
	json_set(f, "module", json_string_cstr(modname));
	json_set(f, "module_offset", mod ? json_hex(pc - bias) : json_null());
	json_set(f, "build_id", mod ? module_build_id(mod) : json_null());
	json_set(f, "file", json_string_cstr(src));
	json_set(f, "line", src && lineno > 0 ? json_integer(lineno) : json_null());
	json_set(f, "inlined", mod && src ? inlined_json(mod, lookup) : json_array());
	return f;
}

struct thread_walk {
	struct raw_thread *t;
	size_t max;
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct thread_walk *w = arg;
	struct raw_thread *t = w->t;
	Dwarf_Addr pc;
	bool activation;

	if (t->count >= w->max) {
		t->truncated = true;
		return DWARF_CB_ABORT;
	}
	if (!dwfl_frame_pc(state, &pc, &activation))
		return -1;
	if (t->count == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 32;
		struct raw_frame *n = realloc(t->frames, cap * sizeof(*n));

		if (!n) {
			t->nomem = true;
			return DWARF_CB_ABORT;
		}
		t->frames = n;
		t->cap = cap;
	}
	t->frames[t->count].pc = pc;
	t->frames[t->count].activation = activation;
	t->count++;
	return DWARF_CB_OK;
}

struct threads_walk {
	size_t max_frames;
	struct raw_stacks *rs;
	int err;
};

static int thread_cb(Dwfl_Thread *thread, void *arg)
{
	struct threads_walk *tw = arg;
	struct raw_stacks *rs = tw->rs;
	struct thread_walk w = { .max = tw->max_frames };
	struct raw_thread *t;
	int r;

	if (rs->count == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 16;
		struct raw_thread *n = realloc(rs->threads, cap * sizeof(*n));

		if (!n) {
			tw->err = -ENOMEM;
			return DWARF_CB_ABORT;
		}
		rs->threads = n;
		rs->cap = cap;
	}
	t = &rs->threads[rs->count++];
	memset(t, 0, sizeof(*t));
	t->tid = dwfl_thread_tid(thread);
	w.t = t;
	r = dwfl_thread_getframes(thread, frame_cb, &w);
	if (t->nomem) {
		tw->err = -ENOMEM;
		return DWARF_CB_ABORT;
	}
	/* -1: the walk ended on an error (no CFI and no frame pointer, unreadable
	 * memory, registers refused). The frames before it are still right. */
	if (r == -1 && !t->truncated)
		t->error = strdup(dwfl_errmsg(-1));
	return DWARF_CB_OK;
}

int stacks__unwind_raw(Dwfl *dwfl, size_t max_frames, struct raw_stacks *rs)
{
	struct threads_walk tw = { .max_frames = max_frames ? max_frames : STACKS_MAX_FRAMES,
				   .rs = rs };
	int r;

	memset(rs, 0, sizeof(*rs));
	r = dwfl_getthreads(dwfl, thread_cb, &tw);
	if (tw.err) {
		stacks__free_raw(rs);
		return tw.err;
	}
	if (r == -1 && rs->count == 0) {
		snprintf(rs->error, sizeof(rs->error), "%s", dwfl_errmsg(-1));
		return -ENODATA;
	}
	return 0;
}

void stacks__free_raw(struct raw_stacks *rs)
{
	for (size_t i = 0; i < rs->count; i++) {
		free(rs->threads[i].frames);
		free(rs->threads[i].error);
	}
	free(rs->threads);
	rs->threads = NULL;
	rs->count = rs->cap = 0;
}

/*
 * Many threads share most of their frames (200 workers in one wait): each distinct
 * (pc, activation) is symbolized once and its object copied. Open addressing, sized at
 * twice the frame count so it never fills.
 */
struct frame_cache {
	struct frame_slot {
		Dwarf_Addr pc;
		bool activation, used;
		json_t *frame;
	} *slots;
	size_t size;
};

static json_t *cached_frame(struct frame_cache *c, Dwfl *dwfl, size_t index, Dwarf_Addr pc,
			    bool activation)
{
	size_t h;
	json_t *f;

	if (!c->slots)
		return stacks__frame(dwfl, index, pc, activation);
	h = (size_t)((pc * 0x9e3779b97f4a7c15ULL) >> 17) % c->size;
	while (c->slots[h].used && (c->slots[h].pc != pc || c->slots[h].activation != activation))
		h = (h + 1) % c->size;
	if (!c->slots[h].used) {
		c->slots[h] = (struct frame_slot){ .pc = pc, .activation = activation, .used = true,
						   .frame = stacks__frame(dwfl, 0, pc, activation) };
	}
	if (!c->slots[h].frame)
		return NULL;
	f = json_copy(c->slots[h].frame);
	if (f)
		json_object_set_new(f, "index", json_integer((json_int_t)index));
	return f;
}

int stacks__symbolize(Dwfl *dwfl, const struct raw_stacks *rs, json_t **threads)
{
	struct frame_cache cache = {};
	json_t *arr = json_array();
	size_t total = 0;
	int err = 0;

	*threads = NULL;
	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < rs->count; i++)
		total += rs->threads[i].count;
	cache.size = 2 * total + 1;
	cache.slots = calloc(cache.size, sizeof(*cache.slots)); /* NULL: no cache, still right */
	for (size_t i = 0; i < rs->count; i++) {
		const struct raw_thread *rt = &rs->threads[i];
		json_t *t = json_object(), *frames = json_array();

		if (!t || !frames || json_array_append_new(arr, t)) {
			json_decref(frames);
			err = -ENOMEM;
			goto out;
		}
		json_set(t, "id", json_integer(rt->tid));
		for (size_t k = 0; k < rt->count; k++) {
			json_t *f = cached_frame(&cache, dwfl, k, rt->frames[k].pc,
						 rt->frames[k].activation);

			if (!f || json_array_append_new(frames, f)) {
				json_decref(frames);
				err = -ENOMEM;
				goto out;
			}
		}
		json_set(t, "frames", frames);
		json_set(t, "frames_truncated", json_boolean(rt->truncated));
		json_set(t, "unwind_error", json_string_cstr(rt->error));
	}
	*threads = arr;
	arr = NULL;
out:
	for (size_t i = 0; cache.slots && i < cache.size; i++)
		json_decref(cache.slots[i].frame);
	free(cache.slots);
	json_decref(arr);
	return err;
}

int stacks__unwind(Dwfl *dwfl, size_t max_frames, json_t **threads)
{
	struct raw_stacks rs;
	int err;

	*threads = NULL;
	err = stacks__unwind_raw(dwfl, max_frames, &rs);
	if (err)
		return err;
	err = stacks__symbolize(dwfl, &rs, threads);
	stacks__free_raw(&rs);
	return err;
}

static int module_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		     void *arg)
{
	json_t *arr = arg, *m = json_object();
	const char *mainfile = NULL, *debugfile = NULL;
	Dwarf_Addr low, high;

	Dwarf_Addr bias;
	Elf *elf;

	if (!m)
		return DWARF_CB_ABORT;
	/* Opens the file (checked against the build-id in the core or process), so the
	 * path below is the one the symbols came from. */
	elf = dwfl_module_getelf(mod, &bias);
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, &mainfile, &debugfile);
	json_set(m, "name", json_string_cstr(name));
	/* A file libdwfl opened while reporting the core has no separate name. */
	json_set(m, "path", json_string_cstr(mainfile ? mainfile
					     : elf && name && name[0] == '/' ? name : NULL));
	json_set(m, "base_address", json_hex(low));
	json_set(m, "end_address", json_hex(high));
	json_set(m, "build_id", module_build_id(mod));
	json_set(m, "file_error", elf ? json_null() : json_string_cstr(dwfl_errmsg(-1)));
	json_set(m, "symbols", json_integer(elf ? dwfl_module_getsymtab(mod) : 0));
	{
		Dwarf_Addr dbias;
		/* DWARF in the file itself or in a separate one (/usr/lib/debug, build-id). */
		Dwarf *dw = elf ? dwfl_module_getdwarf(mod, &dbias) : NULL;

		dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, &debugfile);
		json_set(m, "debug_info", json_boolean(dw != NULL));
		json_set(m, "debug_file", json_string_cstr(dw ? debugfile : NULL));
	}
	json_array_append_new(arr, m);
	return DWARF_CB_OK;
}

static int cmp_module(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "base_address"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "base_address"));
	uint64_t u = strtoull(x, NULL, 16), v = strtoull(y, NULL, 16);

	return u < v ? -1 : u > v;
}

json_t *stacks__modules(Dwfl *dwfl)
{
	json_t *arr = json_array(), *sorted;
	json_t **items;
	size_t n;

	if (!arr)
		return NULL;
	dwfl_getmodules(dwfl, module_cb, arr, 0);
	n = json_array_size(arr);
	items = calloc(n ? n : 1, sizeof(*items));
	sorted = json_array();
	if (!items || !sorted) {
		free(items);
		json_decref(sorted);
		return arr;
	}
	for (size_t i = 0; i < n; i++)
		items[i] = json_array_get(arr, i);
	qsort(items, n, sizeof(*items), cmp_module);
	for (size_t i = 0; i < n; i++)
		json_array_append(sorted, items[i]);
	free(items);
	json_decref(arr);
	return sorted;
}

/* The code locations of a stack as one string: equal strings, identical stacks. */
static char *stack_key(json_t *frames)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	size_t i;
	json_t *fr;

	if (!f)
		return NULL;
	json_array_foreach(frames, i, fr) {
		const char *mod = json_string_value(json_object_get(fr, "module"));
		const char *off = json_string_value(json_object_get(fr, "module_offset"));
		const char *pc = json_string_value(json_object_get(fr, "pc"));

		if (mod && off)
			fprintf(f, "%s+%s;", mod, off);
		else
			fprintf(f, "?+%s;", pc ? pc : "?");
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

struct group {
	char *key;
	json_t *obj;
	size_t count, first;
	bool has_first_tid;
};

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->has_first_tid != y->has_first_tid)
		return x->has_first_tid ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static const char *top_function(json_t *frames)
{
	size_t i;
	json_t *fr;

	json_array_foreach(frames, i, fr) {
		const char *fn = json_string_value(json_object_get(fr, "function"));

		if (fn)
			return fn;
	}
	return NULL;
}

json_t *stacks__group(json_t *threads, pid_t first_tid)
{
	size_t n = json_array_size(threads), ngroups = 0, i;
	struct group *groups = calloc(n ? n : 1, sizeof(*groups));
	json_t *out = json_array(), *t;

	if (!groups || !out)
		goto fail;
	json_array_foreach(threads, i, t) {
		json_t *frames = json_object_get(t, "frames");
		json_int_t tid = json_integer_value(json_object_get(t, "id"));
		char *key = stack_key(frames);
		size_t g;

		if (!key)
			goto fail;
		for (g = 0; g < ngroups; g++)
			if (!strcmp(groups[g].key, key))
				break;
		if (g == ngroups) {
			groups[g].key = key;
			groups[g].first = i;
			groups[g].obj = json_object();
			if (!groups[g].obj)
				goto fail;
			json_set(groups[g].obj, "thread_ids", json_array());
			json_set(groups[g].obj, "top_function",
				 json_string_cstr(top_function(frames)));
			json_object_set(groups[g].obj, "frames", frames ? frames : json_null());
			ngroups++;
		} else {
			free(key);
		}
		groups[g].count++;
		if (first_tid && tid == first_tid)
			groups[g].has_first_tid = true;
		json_array_append_new(json_object_get(groups[g].obj, "thread_ids"),
				      json_integer(tid));
	}
	qsort(groups, ngroups, sizeof(*groups), cmp_group);
	for (i = 0; i < ngroups; i++) {
		json_set(groups[i].obj, "count", json_integer((json_int_t)groups[i].count));
		json_array_append_new(out, groups[i].obj);
		groups[i].obj = NULL;
		free(groups[i].key);
	}
	free(groups);
	return out;
fail:
	for (i = 0; groups && i < ngroups; i++) {
		free(groups[i].key);
		json_decref(groups[i].obj);
	}
	free(groups);
	json_decref(out);
	return NULL;
}

void stacks__frame_text(json_t *f, char *buf, size_t size)
{
	const char *fn = json_string_value(json_object_get(f, "function"));
	const char *mod = base_name(json_string_value(json_object_get(f, "module")));
	const char *moff = json_string_value(json_object_get(f, "module_offset"));
	const char *pc = json_string_value(json_object_get(f, "pc"));
	const char *file = json_string_value(json_object_get(f, "file"));
	json_int_t off = json_integer_value(json_object_get(f, "offset"));
	json_int_t line = json_integer_value(json_object_get(f, "line"));
	int n;


	if (fn)
		n = snprintf(buf, size, "%s+0x%" PRIx64 " (%s)", fn, (uint64_t)off,
			     mod ? mod : "?");
	else if (mod)
		n = snprintf(buf, size, "?? %s+%s", mod, moff ? moff : "?");
	else
		n = snprintf(buf, size, "?? %s (no module)", pc ? pc : "?");
	json_t *inl = json_object_get(f, "inlined"), *e;
	size_t i;

	if (file && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, " at %s:%lld", base_name(file), (long long)line);
	json_array_foreach(inl, i, e) {
		const char *name = json_string_value(json_object_get(e, "function"));

		if (n < 0 || (size_t)n >= size)
			break;
		n += snprintf(buf + n, size - n, "%s%s", i ? " < " : " [inlined: ",
			      name ? name : "??");
		if (i + 1 == json_array_size(inl) && (size_t)n < size)
			n += snprintf(buf + n, size - n, "]");
	}
}
