// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include "trace/uprobe_multi.h"

/*
 * union bpf_attr's link_create as Linux 6.6+ lays it out for uprobe_multi (checked
 * against 6.18's BTF: prog_fd 0, target_fd 4, attach_type 8, flags 12, then path 16,
 * offsets 24, ref_ctr_offsets 32, cookies 40, cnt 48, flags 52, pid 56). Zeroed in full,
 * as the kernel wants every byte past what it reads to be zero.
 */
struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t multi_flags; /* BPF_F_UPROBE_MULTI_RETURN */
	uint32_t pid;
	uint32_t pad;
};

#define TD_BPF_F_UPROBE_MULTI_RETURN 1u

int uprobe_multi__attach(int prog_fd, const char *path, uint64_t offset, bool ret, pid_t pid)
{
	struct link_create_uprobe_multi attr;
	uint64_t off = offset;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = prog_fd;
	attr.attach_type = TD_BPF_TRACE_UPROBE_MULTI;
	attr.path = (uint64_t)(unsigned long)path;
	attr.offsets = (uint64_t)(unsigned long)&off;
	attr.cnt = 1;
	attr.multi_flags = ret ? TD_BPF_F_UPROBE_MULTI_RETURN : 0;
	attr.pid = pid > 0 ? (uint32_t)pid : 0;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

/* The perf PMU "uprobe"'s type, from sysfs; -errno when it has none. */
static int uprobe_pmu_type(void)
{
	char buf[32];
	ssize_t n;
	int fd = open("/sys/bus/event_source/devices/uprobe/type", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	return atoi(buf);
}

int uprobe_multi__purge(const char *path, uint64_t offset, pid_t pid)
{
	struct perf_event_attr attr;
	int type = uprobe_pmu_type(), fd;

	if (type < 0)
		return type;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config1 = (uint64_t)(unsigned long)path; /* uprobe_path */
	attr.config2 = offset;			      /* probe_offset */
	attr.disabled = 1;
	fd = syscall(__NR_perf_event_open, &attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* The file offset of function @name in ELF @fd (symtab, then dynsym); 0 or -ENOENT. */
int uprobe_function_offset(int fd, const char *name, uint64_t *off)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	int ret = -ENOENT;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return -ENOEXEC;
	while (ret && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			GElf_Shdr tsh;
			Elf_Scn *tscn;
			const char *n;

			if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			n = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!n || strcmp(n, name))
				continue;
			tscn = elf_getscn(elf, sym.st_shndx);
			if (!tscn || !gelf_getshdr(tscn, &tsh))
				continue;
			*off = sym.st_value - tsh.sh_addr + tsh.sh_offset;
			ret = 0;
			break;
		}
	}
	elf_end(elf);
	return ret;
}

int uprobe_file_function_offset(const char *path, const char *name, uint64_t *off)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = uprobe_function_offset(fd, name, off);
	close(fd);
	return ret;
}
