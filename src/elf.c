/* elf.c: a small, defensive ELF reader for the layer doctor.
 *
 * It reads what the dynamic loader reads (program headers, PT_DYNAMIC, the
 * dynamic string table and the version needs), for ELF32 and ELF64 in both
 * byte orders.  Input may be truncated or hostile: every read is bounds
 * checked and every loop is bounded by the file or by a fixed cap, so the
 * worst a file can do is be reported as malformed. */
#define _POSIX_C_SOURCE 200809L
#include "elf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Caps far above any real library, low enough that hostile counts cost nothing. */
#define ELF_MAX_DYN 65536
#define ELF_MAX_NEEDED 1024
#define ELF_MAX_VERNEED 1024
#define ELF_MAX_VERNAUX 8192
#define ELF_MAX_SYMS (1u << 20)

/* File mode (elf_load_needed): the bytes come through a window refilled with pread, so a
 * 7 MB library costs a few small reads instead of a mapping and its page faults. */
#define ELF_WINDOW 4096
typedef struct {
    int fd;
    uint64_t off;
    size_t len;
    uint8_t buf[ELF_WINDOW];
} elf_window;

typedef struct {
    const uint8_t *b; /* the whole file in memory, or NULL in file mode */
    size_t n;         /* the file's size */
    int is64;
    int msb;
    elf_window *w;    /* file mode */
} elf_reader;

typedef struct {
    uint64_t vaddr, off, filesz, flags;
} elf_segment;

typedef struct {
    elf_reader r;
    elf_segment *loads;
    size_t n_loads;
    uint64_t shoff, shnum, shentsize;
    uint64_t str_off, str_size;
    int has_strtab;
    int needed_only; /* names only: skip the version needs and the symbol scan */
    char *err;
    size_t err_len;
} elf_parser;

/* Values collected from PT_DYNAMIC before strings can be resolved. */
typedef struct {
    uint64_t needed[ELF_MAX_NEEDED];
    size_t n_needed;
    uint64_t strtab, strsz, soname, rpath, runpath;
    uint64_t verneed, verneednum, versym, symtab, hash;
    int has_strtab, has_strsz, has_soname, has_rpath, has_runpath;
    int has_verneed, has_versym, has_symtab, has_hash;
    uint64_t reloc_vaddr[4], reloc_size[4]; /* as elf_info.relocs */
} elf_dynamic;

#ifndef DT_RELRSZ
#define DT_RELRSZ 35
#define DT_RELR 36
#endif

static int elf_fail(elf_parser *p, const char *fmt, ...)
{
    if (p->err && p->err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->err_len, fmt, ap);
        va_end(ap);
    }
    return ELF_MALFORMED;
}

/* Up to `want` bytes of the file from `off` (at least 1, at most what the file and, in file
 * mode, the window hold): a pointer and *got, or NULL past the end or on a read error. */
static const uint8_t *elf_span(const elf_reader *r, uint64_t off, size_t want, size_t *got)
{
    if (off >= r->n)
        return NULL;
    size_t left = (size_t)(r->n - off);
    if (r->b) {
        *got = want < left ? want : left;
        return r->b + off;
    }
    elf_window *w = r->w;
    if (off < w->off || off - w->off >= w->len || (want <= ELF_WINDOW && want > w->len - (off - w->off) &&
                                                   w->off + w->len < r->n)) {
        /* from the page boundary below, so nearby reads (a soname, then the needed names
         * just before it) share one window, unless that would cut the wanted bytes short */
        uint64_t start = off & ~(uint64_t)(ELF_WINDOW - 1);
        if (want <= ELF_WINDOW && off - start > ELF_WINDOW - want)
            start = off;
        size_t len = r->n - start < ELF_WINDOW ? (size_t)(r->n - start) : ELF_WINDOW;
        ssize_t n;
        do
            n = pread(w->fd, w->buf, len, (off_t)start);
        while (n < 0 && errno == EINTR);
        if (n <= 0 || (uint64_t)n <= off - start) {
            w->len = 0;
            return NULL;
        }
        w->off = start;
        w->len = (size_t)n;
    }
    size_t avail = w->len - (size_t)(off - w->off);
    *got = want < avail ? want : avail;
    return w->buf + (off - w->off);
}

/* Read an unsigned integer of `size` bytes at `off` in the file's byte order. */
static int elf_read_uint(const elf_reader *r, uint64_t off, size_t size, uint64_t *out)
{
    size_t got = 0;
    if (off > r->n || size > r->n - off)
        return -1;
    const uint8_t *p = elf_span(r, off, size, &got);
    if (!p || got < size)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v = (v << 8) | p[r->msb ? i : size - 1 - i];
    *out = v;
    return 0;
}

static int elf_read_at(const elf_reader *r, uint64_t base, size_t off, size_t size, uint64_t *out)
{
    if (base > UINT64_MAX - off)
        return -1;
    return elf_read_uint(r, base + off, size, out);
}

/* Field `f` of structure Elf32_T/Elf64_T at `base`: offsets and sizes come from
 * <elf.h> so the layouts are the C library's, not hand-copied numbers. */
#define ELF_FIELD(r, T, f)                                                      \
    ((r)->is64 ? offsetof(Elf64_##T, f) : offsetof(Elf32_##T, f)),             \
    ((r)->is64 ? sizeof(((Elf64_##T *)0)->f) : sizeof(((Elf32_##T *)0)->f))
#define ELF_GET(r, base, T, f, out) elf_read_at((r), (base), ELF_FIELD(r, T, f), (out))
#define ELF_SIZE(r, T) ((r)->is64 ? sizeof(Elf64_##T) : sizeof(Elf32_##T))

int elf_is_elf(const void *buf, size_t len)
{
    return buf && len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

/* Does [off, off+size) lie inside the file? */
static int elf_in_file(const elf_reader *r, uint64_t off, uint64_t size)
{
    return off <= r->n && size <= r->n - off;
}

static int elf_parse_ident(elf_parser *p, elf_info *info)
{
    size_t got = 0;
    const uint8_t *b = elf_span(&p->r, 0, EI_NIDENT, &got);
    if (!b || got < EI_NIDENT)
        return elf_fail(p, "truncated ELF identification (%zu bytes)", p->r.n);
    if (b[EI_CLASS] != ELFCLASS32 && b[EI_CLASS] != ELFCLASS64)
        return elf_fail(p, "unknown ELF class %u", b[EI_CLASS]);
    if (b[EI_DATA] != ELFDATA2LSB && b[EI_DATA] != ELFDATA2MSB)
        return elf_fail(p, "unknown ELF byte order %u", b[EI_DATA]);
    info->elf_class = b[EI_CLASS];
    info->data = b[EI_DATA];
    p->r.is64 = b[EI_CLASS] == ELFCLASS64;
    p->r.msb = b[EI_DATA] == ELFDATA2MSB;
    if (p->r.n < ELF_SIZE(&p->r, Ehdr))
        return elf_fail(p, "truncated ELF header (%zu bytes)", p->r.n);
    return ELF_OK;
}

static int elf_parse_phdrs(elf_parser *p, uint64_t phoff, uint64_t phnum, uint64_t phentsize,
                           uint64_t *dyn_off, uint64_t *dyn_size, int *has_dyn)
{
    const elf_reader *r = &p->r;
    if (phnum == 0)
        return ELF_OK;
    if (phnum == PN_XNUM)
        return elf_fail(p, "extended program header numbering (PN_XNUM) is not supported");
    if (phentsize < ELF_SIZE(r, Phdr))
        return elf_fail(p, "program header entries are too small (%llu bytes)",
                        (unsigned long long)phentsize);
    if (!elf_in_file(r, phoff, phnum * phentsize))
        return elf_fail(p, "program header table lies outside the file (truncated?)");
    p->loads = calloc(phnum, sizeof *p->loads);
    if (!p->loads)
        return elf_fail(p, "out of memory");
    for (uint64_t i = 0; i < phnum; i++) {
        uint64_t base = phoff + i * phentsize, type, off, vaddr, filesz, flags;
        if (ELF_GET(r, base, Phdr, p_type, &type) || ELF_GET(r, base, Phdr, p_offset, &off) ||
            ELF_GET(r, base, Phdr, p_vaddr, &vaddr) || ELF_GET(r, base, Phdr, p_filesz, &filesz) ||
            ELF_GET(r, base, Phdr, p_flags, &flags))
            return elf_fail(p, "program header %llu is truncated", (unsigned long long)i);
        if (type == PT_LOAD) {
            /* A cut-off upload keeps its headers but loses the segment data. */
            if (!elf_in_file(r, off, filesz))
                return elf_fail(p, "segment %llu extends past the end of the file (truncated?)",
                                (unsigned long long)i);
            p->loads[p->n_loads++] = (elf_segment){vaddr, off, filesz, flags};
        } else if (type == PT_DYNAMIC && !*has_dyn) {
            if (!elf_in_file(r, off, filesz))
                return elf_fail(p, "PT_DYNAMIC lies outside the file (truncated?)");
            *dyn_off = off;
            *dyn_size = filesz;
            *has_dyn = 1;
        }
    }
    return ELF_OK;
}

/* Does [va, va+size) lie in one segment the loader maps read-only? */
static int elf_in_readonly_load(const elf_parser *p, uint64_t va, uint64_t size)
{
    for (size_t i = 0; i < p->n_loads; i++) {
        const elf_segment *s = &p->loads[i];
        if (va >= s->vaddr && va - s->vaddr <= s->filesz && size <= s->filesz - (va - s->vaddr))
            return !(s->flags & PF_W);
    }
    return 0;
}

/* Translate a virtual address to a file offset the way the loader maps it. */
static int elf_vaddr_to_off(const elf_parser *p, uint64_t va, uint64_t *off)
{
    for (size_t i = 0; i < p->n_loads; i++) {
        const elf_segment *s = &p->loads[i];
        if (va >= s->vaddr && va - s->vaddr < s->filesz) {
            *off = s->off + (va - s->vaddr);
            return 0;
        }
    }
    return -1;
}

static void elf_dynamic_take(elf_dynamic *d, uint64_t tag, uint64_t val)
{
    switch (tag) {
    case DT_NEEDED: d->needed[d->n_needed++] = val; break;
    case DT_STRTAB: d->strtab = val; d->has_strtab = 1; break;
    case DT_STRSZ: d->strsz = val; d->has_strsz = 1; break;
    case DT_SONAME: d->soname = val; d->has_soname = 1; break;
    case DT_RPATH: d->rpath = val; d->has_rpath = 1; break;
    case DT_RUNPATH: d->runpath = val; d->has_runpath = 1; break;
    case DT_VERNEED: d->verneed = val; d->has_verneed = 1; break;
    case DT_VERNEEDNUM: d->verneednum = val; break;
    case DT_VERSYM: d->versym = val; d->has_versym = 1; break;
    case DT_SYMTAB: d->symtab = val; d->has_symtab = 1; break;
    case DT_HASH: d->hash = val; d->has_hash = 1; break;
    case DT_RELA: d->reloc_vaddr[0] = val; break;
    case DT_RELASZ: d->reloc_size[0] = val; break;
    case DT_REL: d->reloc_vaddr[1] = val; break;
    case DT_RELSZ: d->reloc_size[1] = val; break;
    case DT_JMPREL: d->reloc_vaddr[2] = val; break;
    case DT_PLTRELSZ: d->reloc_size[2] = val; break;
    case DT_RELR: d->reloc_vaddr[3] = val; break;
    case DT_RELRSZ: d->reloc_size[3] = val; break;
    default: break;
    }
}

static int elf_read_dynamic(elf_parser *p, uint64_t off, uint64_t size, elf_dynamic *d)
{
    const elf_reader *r = &p->r;
    uint64_t ent = ELF_SIZE(r, Dyn), count = size / ent;
    if (count > ELF_MAX_DYN)
        count = ELF_MAX_DYN;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t tag, val, base = off + i * ent;
        if (ELF_GET(r, base, Dyn, d_tag, &tag) || ELF_GET(r, base, Dyn, d_un.d_val, &val))
            return elf_fail(p, "dynamic entry %llu is truncated", (unsigned long long)i);
        if (tag == DT_NULL)
            break;
        if (tag == DT_NEEDED && d->n_needed == ELF_MAX_NEEDED)
            return elf_fail(p, "more than %d DT_NEEDED entries", ELF_MAX_NEEDED);
        elf_dynamic_take(d, tag, val);
    }
    return ELF_OK;
}

static int elf_setup_strtab(elf_parser *p, const elf_dynamic *d)
{
    if (!d->has_strtab || !d->has_strsz)
        return elf_fail(p, "dynamic section names strings but has no DT_STRTAB/DT_STRSZ");
    uint64_t off;
    if (elf_vaddr_to_off(p, d->strtab, &off))
        return elf_fail(p, "DT_STRTAB 0x%llx is not inside any loaded segment",
                        (unsigned long long)d->strtab);
    if (!elf_in_file(&p->r, off, d->strsz))
        return elf_fail(p, "dynamic string table lies outside the file (truncated?)");
    p->str_off = off;
    p->str_size = d->strsz;
    p->has_strtab = 1;
    return ELF_OK;
}

/* A pointer into the string table; NULL when the index or the terminator is bad. */
static const char *elf_string(const elf_parser *p, uint64_t idx)
{
    if (!p->has_strtab || idx >= p->str_size)
        return NULL;
    size_t room = (size_t)(p->str_size - idx), got = 0;
    /* (in file mode a name must end within one window: 4 KB, far beyond any real name) */
    const char *s = (const char *)elf_span(&p->r, p->str_off + idx, room, &got);
    return s && memchr(s, '\0', got) ? s : NULL;
}

static int elf_dup_string(elf_parser *p, uint64_t idx, const char *what, char **out)
{
    const char *s = elf_string(p, idx);
    if (!s)
        return elf_fail(p, "%s string at %llu is out of range or unterminated", what,
                        (unsigned long long)idx);
    *out = strdup(s);
    return *out ? ELF_OK : elf_fail(p, "out of memory");
}

static int elf_take_strings(elf_parser *p, const elf_dynamic *d, elf_info *info)
{
    int rc;
    if (d->has_soname && (rc = elf_dup_string(p, d->soname, "DT_SONAME", &info->soname)))
        return rc;
    if (d->has_rpath && (rc = elf_dup_string(p, d->rpath, "DT_RPATH", &info->rpath)))
        return rc;
    if (d->has_runpath && (rc = elf_dup_string(p, d->runpath, "DT_RUNPATH", &info->runpath)))
        return rc;
    if (d->n_needed == 0)
        return ELF_OK;
    info->needed = calloc(d->n_needed, sizeof *info->needed);
    if (!info->needed)
        return elf_fail(p, "out of memory");
    for (size_t i = 0; i < d->n_needed; i++) {
        if ((rc = elf_dup_string(p, d->needed[i], "DT_NEEDED", &info->needed[i])))
            return rc;
        info->n_needed++;
    }
    return ELF_OK;
}

/* Is `name` PREFIX followed by a version number ("GLIBC_2.34", not "GLIBC_PRIVATE")? */
static const char *elf_versioned(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || name[n] < '0' || name[n] > '9')
        return NULL;
    return name + n;
}

static void elf_keep_max(char *dst, size_t dst_len, const char *name, const char *prefix,
                         int *changed)
{
    const char *v = elf_versioned(name, prefix);
    *changed = 0;
    if (!v || strlen(name) >= dst_len)
        return;
    if (dst[0] && elf_version_cmp(v, dst + strlen(prefix)) <= 0)
        return;
    strcpy(dst, name);
    *changed = 1;
}

/* Walk .gnu.version_r: the versions this file needs from its libraries. */
static int elf_read_verneed(elf_parser *p, const elf_dynamic *d, elf_info *info,
                            unsigned *glibc_index)
{
    const elf_reader *r = &p->r;
    uint64_t off, count = d->verneednum, aux_total = 0;
    if (elf_vaddr_to_off(p, d->verneed, &off))
        return elf_fail(p, "DT_VERNEED 0x%llx is not inside any loaded segment",
                        (unsigned long long)d->verneed);
    if (count > ELF_MAX_VERNEED)
        return elf_fail(p, "DT_VERNEEDNUM %llu is implausibly large", (unsigned long long)count);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t cnt, aux, next, a;
        if (ELF_GET(r, off, Verneed, vn_cnt, &cnt) || ELF_GET(r, off, Verneed, vn_aux, &aux) ||
            ELF_GET(r, off, Verneed, vn_next, &next))
            return elf_fail(p, "version need entry %llu lies outside the file", (unsigned long long)i);
        a = off + aux;
        for (uint64_t j = 0; j < cnt; j++) {
            uint64_t name, other, anext;
            if (++aux_total > ELF_MAX_VERNAUX)
                return elf_fail(p, "too many version need entries");
            if (ELF_GET(r, a, Vernaux, vna_name, &name) || ELF_GET(r, a, Vernaux, vna_other, &other) ||
                ELF_GET(r, a, Vernaux, vna_next, &anext))
                return elf_fail(p, "version need auxiliary entry lies outside the file");
            const char *s = elf_string(p, name);
            if (!s)
                return elf_fail(p, "version name at %llu is out of range or unterminated",
                                (unsigned long long)name);
            int changed;
            elf_keep_max(info->glibc_max, sizeof info->glibc_max, s, "GLIBC_", &changed);
            if (changed)
                *glibc_index = (unsigned)(other & 0x7fff);
            elf_keep_max(info->glibcxx_max, sizeof info->glibcxx_max, s, "GLIBCXX_", &changed);
            if (anext == 0)
                break;
            a += anext; /* vna_next is unsigned, so the walk only moves forward */
        }
        if (next == 0)
            break;
        off += next;
    }
    return ELF_OK;
}

/* How many dynamic symbols: from the SHT_DYNSYM section, else DT_HASH's nchain. */
static uint64_t elf_count_syms(const elf_parser *p, const elf_dynamic *d, uint64_t sym_off)
{
    const elf_reader *r = &p->r;
    uint64_t shent = ELF_SIZE(r, Shdr), v;
    if (p->shentsize >= shent && p->shnum < 65536 && elf_in_file(r, p->shoff, p->shnum * p->shentsize)) {
        for (uint64_t i = 0; i < p->shnum; i++) {
            uint64_t base = p->shoff + i * p->shentsize, type, off, size, ent;
            if (ELF_GET(r, base, Shdr, sh_type, &type) || ELF_GET(r, base, Shdr, sh_offset, &off) ||
                ELF_GET(r, base, Shdr, sh_size, &size) || ELF_GET(r, base, Shdr, sh_entsize, &ent))
                break;
            if (type == SHT_DYNSYM && off == sym_off && ent == ELF_SIZE(r, Sym))
                return size / ent;
        }
    }
    uint64_t hash_off;
    if (d->has_hash && !elf_vaddr_to_off(p, d->hash, &hash_off) && !elf_read_uint(r, hash_off + 4, 4, &v))
        return v;
    return 0;
}

/* Best effort: name one undefined symbol that needs the highest GLIBC version,
 * so the report can say *why* the file needs it.  Inconsistencies just leave
 * the name empty: the loader does not need section headers. */
static void elf_find_glibc_symbol(const elf_parser *p, const elf_dynamic *d, elf_info *info,
                                  unsigned index)
{
    const elf_reader *r = &p->r;
    uint64_t sym_off, ver_off, ent = ELF_SIZE(r, Sym);
    if (!index || !d->has_symtab || !d->has_versym || elf_vaddr_to_off(p, d->symtab, &sym_off) ||
        elf_vaddr_to_off(p, d->versym, &ver_off))
        return;
    uint64_t count = elf_count_syms(p, d, sym_off);
    if (count > ELF_MAX_SYMS)
        count = ELF_MAX_SYMS;
    for (uint64_t i = 1; i < count; i++) {
        uint64_t ver, name, shndx;
        if (elf_read_uint(r, ver_off + 2 * i, 2, &ver) ||
            ELF_GET(r, sym_off + i * ent, Sym, st_name, &name) ||
            ELF_GET(r, sym_off + i * ent, Sym, st_shndx, &shndx))
            return;
        if ((ver & 0x7fff) != index || shndx != SHN_UNDEF)
            continue;
        const char *s = elf_string(p, name);
        if (s && strlen(s) < sizeof info->glibc_sym) {
            strcpy(info->glibc_sym, s);
            return;
        }
    }
}

static int elf_parse_dynamic(elf_parser *p, uint64_t off, uint64_t size, elf_info *info)
{
    elf_dynamic *d = calloc(1, sizeof *d);
    unsigned glibc_index = 0;
    int rc;
    if (!d)
        return elf_fail(p, "out of memory");
    rc = elf_read_dynamic(p, off, size, d);
    for (int i = 0; i < 4; i++) { /* only tables the loader cannot have written to */
        int readonly = d->reloc_vaddr[i] && elf_in_readonly_load(p, d->reloc_vaddr[i], d->reloc_size[i]);
        info->relocs[i].vaddr = readonly ? d->reloc_vaddr[i] : 0;
        info->relocs[i].size = readonly ? d->reloc_size[i] : 0;
    }
    if (!rc && (d->n_needed || d->has_soname || d->has_rpath || d->has_runpath || d->has_verneed))
        rc = elf_setup_strtab(p, d);
    if (!rc)
        rc = elf_take_strings(p, d, info);
    if (!rc && d->has_verneed && !p->needed_only)
        rc = elf_read_verneed(p, d, info, &glibc_index);
    if (!rc && !p->needed_only)
        elf_find_glibc_symbol(p, d, info, glibc_index);
    free(d);
    return rc;
}

static int elf_parse_body(elf_parser *p, elf_info *info)
{
    const elf_reader *r = &p->r;
    uint64_t type, machine, phoff, phnum, phentsize, dyn_off = 0, dyn_size = 0;
    int has_dyn = 0, rc;
    if (ELF_GET(r, 0, Ehdr, e_type, &type) || ELF_GET(r, 0, Ehdr, e_machine, &machine) ||
        ELF_GET(r, 0, Ehdr, e_phoff, &phoff) || ELF_GET(r, 0, Ehdr, e_phnum, &phnum) ||
        ELF_GET(r, 0, Ehdr, e_phentsize, &phentsize) || ELF_GET(r, 0, Ehdr, e_shoff, &p->shoff) ||
        ELF_GET(r, 0, Ehdr, e_shnum, &p->shnum) || ELF_GET(r, 0, Ehdr, e_shentsize, &p->shentsize))
        return elf_fail(p, "truncated ELF header");
    info->type = (unsigned)type;
    info->machine = (unsigned)machine;
    if ((rc = elf_parse_phdrs(p, phoff, phnum, phentsize, &dyn_off, &dyn_size, &has_dyn)))
        return rc;
    info->dynamic = has_dyn;
    return has_dyn ? elf_parse_dynamic(p, dyn_off, dyn_size, info) : ELF_OK;
}

/* buf: the whole file; or NULL and `window` (file mode, names only). */
static int elf_parse_with(const void *buf, size_t len, elf_window *window, elf_info *info, char *err,
                          size_t err_len)
{
    elf_parser p = {.r = {.b = buf, .n = len, .w = window}, .needed_only = window != NULL, .err = err,
                    .err_len = err_len};
    int rc;
    size_t got = 0;
    memset(info, 0, sizeof *info);
    if (err && err_len)
        err[0] = '\0';
    const uint8_t *magic = elf_span(&p.r, 0, SELFMAG, &got);
    if (!magic || !elf_is_elf(magic, got))
        return ELF_NOT_ELF;
    rc = elf_parse_ident(&p, info);
    if (!rc)
        rc = elf_parse_body(&p, info);
    free(p.loads);
    if (rc)
        elf_info_free(info);
    return rc;
}

int elf_parse(const void *buf, size_t len, elf_info *info, char *err, size_t err_len)
{
    return elf_parse_with(buf, len, NULL, info, err, err_len);
}

static int elf_io_fail(char *err, size_t err_len, const char *what, const char *path)
{
    if (err && err_len)
        snprintf(err, err_len, "cannot %s %s: %s", what, path, strerror(errno));
    return ELF_IO;
}

static int elf_read_fd(int fd, size_t size, uint8_t *buf)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Opens a regular file of at most ELF_MAX_FILE bytes; returns the fd and its size, or -1. */
static int elf_open(const char *path, size_t *size, char *err, size_t err_len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return elf_io_fail(err, err_len, "open", path), -1;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return elf_io_fail(err, err_len, "stat", path), -1;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > ELF_MAX_FILE) {
        close(fd);
        if (err && err_len)
            snprintf(err, err_len, "%s is %s", path,
                     S_ISREG(st.st_mode) ? "too large to inspect" : "not a regular file");
        return -1;
    }
    *size = (size_t)st.st_size;
    return fd;
}

/* The doctor reads the whole file. The loader module calls this on every dlopen and needs
 * only the names: it reads through a 4 KB window, as mapping a 7 MB libpython to read three
 * of its pages costs ~0.3 ms of page faults here. */
static int elf_load_with(const char *path, int names_only, elf_info *info, char *err, size_t err_len)
{
    size_t size;
    memset(info, 0, sizeof *info);
    int fd = elf_open(path, &size, err, err_len);
    if (fd < 0)
        return ELF_IO;
    elf_window *window = names_only ? malloc(sizeof *window) : NULL;
    uint8_t *buf = names_only ? NULL : malloc(size ? size : 1);
    int rc;
    if (names_only ? !window : (!buf || elf_read_fd(fd, size, buf) < 0)) {
        rc = elf_io_fail(err, err_len, "read", path);
    } else {
        if (window)
            *window = (elf_window){.fd = fd};
        rc = elf_parse_with(buf, size, window, info, err, err_len);
    }
    free(buf);
    free(window);
    close(fd);
    return rc;
}

int elf_load(const char *path, elf_info *info, char *err, size_t err_len)
{
    return elf_load_with(path, 0, info, err, err_len);
}

int elf_load_needed(const char *path, elf_info *info, char *err, size_t err_len)
{
    return elf_load_with(path, 1, info, err, err_len);
}

void elf_info_free(elf_info *info)
{
    if (!info)
        return;
    for (size_t i = 0; i < info->n_needed; i++)
        free(info->needed[i]);
    free(info->needed);
    free(info->soname);
    free(info->rpath);
    free(info->runpath);
    memset(info, 0, sizeof *info);
}

const char *elf_machine_name(unsigned machine, char *tmp, size_t tmp_len)
{
    switch (machine) {
    case EM_X86_64: return "x86_64";
    case EM_AARCH64: return "arm64";
    case EM_386: return "i386";
    case EM_ARM: return "arm";
    case EM_PPC: return "ppc";
    case EM_PPC64: return "ppc64";
    case EM_S390: return "s390x";
    case EM_MIPS: return "mips";
    case EM_RISCV: return "riscv";
    case EM_SPARCV9: return "sparc64";
    case EM_IA_64: return "ia64";
    case EM_LOONGARCH: return "loongarch";
    default:
        snprintf(tmp, tmp_len, "machine %u", machine);
        return tmp;
    }
}

unsigned elf_arch_machine(const char *arch)
{
    if (!arch)
        return 0;
    if (!strcmp(arch, "x86_64") || !strcmp(arch, "amd64"))
        return EM_X86_64;
    if (!strcmp(arch, "arm64") || !strcmp(arch, "aarch64"))
        return EM_AARCH64;
    return 0;
}

/* Parse one dotted component; stops at anything that is not a digit. */
static unsigned long elf_version_part(const char **s)
{
    unsigned long v = 0;
    while (**s >= '0' && **s <= '9') {
        if (v < 100000000UL)
            v = v * 10 + (unsigned long)(**s - '0');
        (*s)++;
    }
    if (**s == '.')
        (*s)++;
    return v;
}

int elf_version_cmp(const char *a, const char *b)
{
    for (int i = 0; i < 8 && (*a || *b); i++) {
        unsigned long x = elf_version_part(&a), y = elf_version_part(&b);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}
