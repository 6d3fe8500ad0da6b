// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for the ELF reader (userspace/common/elf_info.c): this test binary and libc
 * as loaded (truth from the program headers in memory, via dl_iterate_phdr), a small
 * ELF file built here, and hostile files: empty, truncated, not ELF, absurd note sizes.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/elf_info.h"

/* --- Truth from memory: the build-id note the dynamic loader sees --------------- */
struct loaded {
	const char *want_substr; /* "" for the main program */
	char path[4096];
	unsigned char id[ELF_BUILD_ID_MAX];
	size_t id_len;
	bool found;
};

static int find_loaded(struct dl_phdr_info *dl, size_t size, void *ctx)
{
	struct loaded *l = ctx;
	bool main_prog = !l->want_substr[0];

	if (main_prog ? dl->dlpi_name[0] != '\0' : !strstr(dl->dlpi_name, l->want_substr))
		return 0;
	snprintf(l->path, sizeof(l->path), "%s", main_prog ? "/proc/self/exe" : dl->dlpi_name);
	for (int i = 0; i < dl->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &dl->dlpi_phdr[i];
		const char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const char *)(dl->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)p;
			const char *name = p + sizeof(*nh);
			const char *desc = name + ((nh->n_namesz + 3) & ~3u);

			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(name, "GNU", 4) && nh->n_descsz <= ELF_BUILD_ID_MAX) {
				memcpy(l->id, desc, nh->n_descsz);
				l->id_len = nh->n_descsz;
				l->found = true;
				return 1;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	l->found = true;
	return 1;
}

static void test_self_matches_loaded_note(void **state)
{
	struct loaded l = { .want_substr = "" };
	struct elf_info info;
	char hex[2 * ELF_BUILD_ID_MAX + 1];
	int fd;

	dl_iterate_phdr(find_loaded, &l);
	assert_true(l.found);
	assert_int_equal(l.id_len, 20);
	assert_int_equal(elf_info__read("/proc/self/exe", &info), 0);
	assert_int_equal(info.build_id_len, l.id_len);
	assert_memory_equal(info.build_id, l.id, l.id_len);
	assert_int_equal(info.elf_class, __WORDSIZE == 64 ? ELFCLASS64 : ELFCLASS32);
	assert_string_equal(info.soname, "");

	fd = open("/proc/self/exe", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(elf_info__read_fd(fd, &info), 0);
	assert_memory_equal(info.build_id, l.id, l.id_len);
	close(fd);

	elf_info__build_id_hex(&info, hex, sizeof(hex));
	assert_int_equal(strlen(hex), 40);
	/* Too small a buffer: whole bytes only, always terminated. */
	elf_info__build_id_hex(&info, hex, 6);
	assert_int_equal(strlen(hex), 4);
	elf_info__build_id_hex(&info, hex, 1);
	assert_string_equal(hex, "");
}

static void test_libc_soname_and_note(void **state)
{
	struct loaded l = { .want_substr = "libc.so" };
	struct elf_info info;

	dl_iterate_phdr(find_loaded, &l);
	assert_true(l.found);
	assert_int_equal(elf_info__read(l.path, &info), 0);
	assert_string_equal(info.soname, "libc.so.6");
	assert_int_equal(info.e_type, ET_DYN);
	assert_int_equal(info.build_id_len, l.id_len);
	assert_memory_equal(info.build_id, l.id, l.id_len);
}

static void test_vdso_in_memory(void **state)
{
	const ElfW(Ehdr) *eh = (const void *)getauxval(AT_SYSINFO_EHDR);
	struct elf_info info;
	size_t size;
	void *copy;

	if (!eh)
		skip();
	/* Section headers come last in the vDSO image: they bound its size. */
	size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	copy = malloc(size);
	assert_non_null(copy);
	memcpy(copy, eh, size);
	assert_int_equal(elf_info__read_memory(copy, size, &info), 0);
	assert_int_equal(info.e_type, ET_DYN);
	assert_string_equal(info.soname, "linux-vdso.so.1");
	assert_true(info.build_id_len > 0);
	/* Cut before the program headers end: not readable as ELF, no crash. */
	assert_int_equal(elf_info__read_memory(copy, 10, &info), -ENOEXEC);
	assert_int_equal(elf_info__read_memory(NULL, 0, &info), -ENOEXEC);
	free(copy);
}

/* --- A small ELF built here ------------------------------------------------------- */
struct tiny_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	Elf64_Nhdr nh;
	char name[4];
	unsigned char desc[20];
};

static void tiny_elf_init(struct tiny_elf *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->eh.e_ident, ELFMAG, SELFMAG);
	t->eh.e_ident[EI_CLASS] = ELFCLASS64;
	t->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	t->eh.e_ident[EI_VERSION] = EV_CURRENT;
	t->eh.e_type = ET_DYN;
	t->eh.e_machine = EM_X86_64;
	t->eh.e_version = EV_CURRENT;
	t->eh.e_phoff = offsetof(struct tiny_elf, ph);
	t->eh.e_ehsize = sizeof(Elf64_Ehdr);
	t->eh.e_phentsize = sizeof(Elf64_Phdr);
	t->eh.e_phnum = 1;
	t->ph.p_type = PT_NOTE;
	t->ph.p_offset = offsetof(struct tiny_elf, nh);
	t->ph.p_filesz = t->ph.p_memsz = sizeof(*t) - offsetof(struct tiny_elf, nh);
	t->ph.p_align = 4;
	t->nh.n_namesz = 4;
	t->nh.n_descsz = sizeof(t->desc);
	t->nh.n_type = NT_GNU_BUILD_ID;
	memcpy(t->name, "GNU", 4);
	for (size_t i = 0; i < sizeof(t->desc); i++)
		t->desc[i] = (unsigned char)(0xa0 + i);
}

static char tmpdir[] = "/tmp/td-elf-test-XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static void test_tiny_elf(void **state)
{
	struct tiny_elf t;
	struct elf_info info;
	char hex[64];

	tiny_elf_init(&t);
	assert_int_equal(elf_info__read(write_file("tiny", &t, sizeof(t)), &info), 0);
	assert_int_equal(info.build_id_len, 20);
	elf_info__build_id_hex(&info, hex, sizeof(hex));
	assert_string_equal(hex, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3");
	assert_int_equal(info.e_machine, EM_X86_64);
	assert_int_equal(info.elf_class, ELFCLASS64);
}

static void test_hostile_files(void **state)
{
	struct tiny_elf t;
	struct elf_info info;

	assert_int_equal(elf_info__read(write_file("empty", NULL, 0), &info), -ENOEXEC);
	assert_int_equal(elf_info__read(write_file("text", "hello, world\n", 13), &info),
			 -ENOEXEC);
	tiny_elf_init(&t);
	/* Only the first 20 bytes of the ELF header. */
	assert_int_equal(elf_info__read(write_file("trunc", &t, 20), &info), -ENOEXEC);
	assert_int_equal(elf_info__read("/nonexistent/td-elf", &info), -ENOENT);
	assert_int_equal(elf_info__read("/tmp", &info) < 0, 1);

	/* Header fine, the note cut off: ELF, no build-id. */
	assert_int_equal(elf_info__read(write_file("cut", &t, sizeof(t) - 10), &info), 0);
	assert_int_equal(info.build_id_len, 0);

	/* A note claiming an absurd size. */
	tiny_elf_init(&t);
	t.nh.n_descsz = 0xfffffff0u;
	assert_int_equal(elf_info__read(write_file("absurd", &t, sizeof(t)), &info), 0);
	assert_int_equal(info.build_id_len, 0);
	tiny_elf_init(&t);
	t.nh.n_namesz = 0xffffffffu;
	assert_int_equal(elf_info__read(write_file("absurd2", &t, sizeof(t)), &info), 0);
	assert_int_equal(info.build_id_len, 0);

	/* A PT_NOTE pointing far past the end of the file. */
	tiny_elf_init(&t);
	t.ph.p_offset = 1ULL << 40;
	assert_int_equal(elf_info__read(write_file("faroff", &t, sizeof(t)), &info), 0);
	assert_int_equal(info.build_id_len, 0);
	tiny_elf_init(&t);
	t.ph.p_filesz = ~0ULL;
	assert_int_equal(elf_info__read(write_file("huge", &t, sizeof(t)), &info), 0);
	assert_int_equal(info.build_id_len, 0);

	/* Program headers that do not fit in the file. */
	tiny_elf_init(&t);
	t.eh.e_phnum = 0xffff;
	assert_int_equal(elf_info__read(write_file("phnum", &t, sizeof(t)), &info), 0);
	assert_int_equal(info.build_id_len, 0);

	/* Section headers that do not exist. */
	tiny_elf_init(&t);
	t.eh.e_shoff = 1ULL << 40;
	t.eh.e_shnum = 50;
	t.eh.e_shentsize = sizeof(Elf64_Shdr);
	assert_int_equal(elf_info__read(write_file("shoff", &t, sizeof(t)), &info) <= 0, 1);
	assert_int_equal(info.build_id_len == 0 || info.build_id_len == 20, 1);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_matches_loaded_note),
		cmocka_unit_test(test_libc_soname_and_note),
		cmocka_unit_test(test_vdso_in_memory),
		cmocka_unit_test(test_tiny_elf),
		cmocka_unit_test(test_hostile_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
