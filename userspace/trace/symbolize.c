// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <elfutils/libdwfl.h>

#include "common/jsonutil.h"
#include "trace/event_json.h"
#include "trace/symbolize.h"

/* A few processes at a time: the traced ones. */
#define SYMBOLIZER_SLOTS 16

struct sym_slot {
	pid_t pid;
	Dwfl *dwfl;
	unsigned long last_use;
	time_t reported; /* when the module list was read: re-read for unknown addresses */
};

struct symbolizer {
	struct sym_slot slot[SYMBOLIZER_SLOTS];
	unsigned long clock;
};

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

struct symbolizer *symbolizer__new(void)
{
	return calloc(1, sizeof(struct symbolizer));
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (int i = 0; i < SYMBOLIZER_SLOTS; i++)
		if (s->slot[i].dwfl)
			dwfl_end(s->slot[i].dwfl);
	free(s);
}

static Dwfl *report(pid_t pid)
{
	Dwfl *d = dwfl_begin(&callbacks);

	if (!d)
		return NULL;
	if (dwfl_linux_proc_report(d, pid) || dwfl_report_end(d, NULL, NULL)) {
		dwfl_end(d);
		return NULL;
	}
	return d;
}

static struct sym_slot *slot_for(struct symbolizer *s, pid_t pid, bool refresh)
{
	struct sym_slot *victim = &s->slot[0];

	for (int i = 0; i < SYMBOLIZER_SLOTS; i++) {
		struct sym_slot *sl = &s->slot[i];

		if (sl->dwfl && sl->pid == pid) {
			sl->last_use = ++s->clock;
			/* New modules (dlopen): read the maps again, at most once a second. */
			if (refresh && time(NULL) != sl->reported) {
				Dwfl *d = report(pid);

				if (d) {
					dwfl_end(sl->dwfl);
					sl->dwfl = d;
					sl->reported = time(NULL);
				}
			}
			return sl;
		}
		if (!sl->dwfl || sl->last_use < victim->last_use)
			victim = sl;
	}
	if (victim->dwfl)
		dwfl_end(victim->dwfl);
	victim->dwfl = report(pid);
	victim->pid = pid;
	victim->last_use = ++s->clock;
	victim->reported = time(NULL);
	return victim->dwfl ? victim : NULL;
}

json_t *symbolizer__frame(void *ctx, pid_t pid, uint64_t pc, bool return_address)
{
	uint64_t addr = return_address && pc ? pc - 1 : pc;
	struct symbolizer *s = ctx;
	json_t *f = json_pack("{s:o}", "address", json_hex(pc));
	const char *name = NULL, *module = NULL;
	GElf_Off off = 0;
	GElf_Sym sym;
	Dwfl_Module *mod = NULL;
	struct sym_slot *sl;

	sl = s ? slot_for(s, pid, false) : NULL;
	if (sl) {
		mod = dwfl_addrmodule(sl->dwfl, addr);
		if (!mod) {
			sl = slot_for(s, pid, true);
			mod = sl ? dwfl_addrmodule(sl->dwfl, addr) : NULL;
		}
	}
	if (mod) {
		const char *mainfile = NULL;

		module = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
		if (mainfile)
			module = mainfile;
		name = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
	}
	if (name && name[0] == '_' && name[1] == 'Z') {
		char buf[512];

		/* C++ function names read better demangled: "thrower(void*)". */
		if (demangle_type(name, buf, sizeof(buf)) == 1) {
			json_set(f, "symbol", json_string_cstr(buf));
			name = "";
		}
	}
	if (!name || *name)
		json_set(f, "symbol", name ? json_string_cstr(name) : NULL);
	json_set(f, "offset", name ? json_integer(off + (pc - addr)) : NULL);
	json_set(f, "module", module ? json_string_cstr(module) : NULL);
	return f;
}
