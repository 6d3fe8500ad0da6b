// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/elf_info.h"

static int read_notes(Elf *elf, struct elf_info *info)
{
	size_t phnum = 0;
	Elf_Scn *scn = NULL;

	/* Program headers first: they are what a loaded (or stripped) object keeps. */
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum && !info->build_id_len; i++) {
			GElf_Phdr ph;
			Elf_Data *data;
			size_t off = 0, name_off, desc_off;
			GElf_Nhdr nh;

			if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_NOTE)
				continue;
			data = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz,
						    ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			if (!data)
				continue;
			while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
				if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
				    !memcmp((char *)data->d_buf + name_off, "GNU", 4) &&
				    nh.n_descsz && nh.n_descsz <= ELF_BUILD_ID_MAX) {
					memcpy(info->build_id, (char *)data->d_buf + desc_off,
					       nh.n_descsz);
					info->build_id_len = nh.n_descsz;
					break;
				}
			}
		}
	}
	/* Sections, for files whose notes are not in a PT_NOTE (relocatable objects). */
	while (!info->build_id_len && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)data->d_buf + name_off, "GNU", 4) && nh.n_descsz &&
			    nh.n_descsz <= ELF_BUILD_ID_MAX) {
				memcpy(info->build_id, (char *)data->d_buf + desc_off, nh.n_descsz);
				info->build_id_len = nh.n_descsz;
				break;
			}
		}
	}
	return 0;
}

static void read_soname(Elf *elf, struct elf_info *info)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			return;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			const char *name;

			if (!gelf_getdyn(data, i, &dyn))
				break;
			if (dyn.d_tag != DT_SONAME)
				continue;
			name = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
			if (name)
				snprintf(info->soname, sizeof(info->soname), "%s", name);
			return;
		}
	}
}

/* Fills @info from an open @elf, which it ends. */
static int read_elf(Elf *elf, struct elf_info *info)
{
	GElf_Ehdr eh;
	int err = 0;

	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	info->elf_class = gelf_getclass(elf);
	info->e_type = eh.e_type;
	info->e_machine = eh.e_machine;
	read_notes(elf, info);
	read_soname(elf, info);
cleanup:
	elf_end(elf);
	return err;
}

int elf_info__read_fd(int fd, struct elf_info *info)
{
	memset(info, 0, sizeof(*info));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	return read_elf(elf_begin(fd, ELF_C_READ_MMAP, NULL), info);
}

int elf_info__read_memory(void *image, size_t size, struct elf_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!image || !size)
		return -ENOEXEC;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	return read_elf(elf_memory(image, size), info);
}

int elf_info__read(const char *path, struct elf_info *info)
{
	int fd, err;

	memset(info, 0, sizeof(*info));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = elf_info__read_fd(fd, info);
	close(fd);
	return err;
}

void elf_info__build_id_hex(const struct elf_info *info, char *out, size_t size)
{
	size_t o = 0;

	if (size)
		out[0] = '\0';
	for (size_t i = 0; i < info->build_id_len && o + 3 <= size; i++)
		o += snprintf(out + o, size - o, "%02x", info->build_id[i]);
}
