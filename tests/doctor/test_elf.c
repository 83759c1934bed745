/* Unit tests of src/elf.c: ELF images are synthesized here, for both classes
 * and both byte orders, then broken in the ways hostile or damaged files are.
 *   test_elf                   run the tests (cmocka)
 *   test_elf --write-seeds DIR write the synthesized images as a fuzzing corpus */
#define _POSIX_C_SOURCE 200809L
#include "elf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ------------------------------------------------------------ the builder */

enum { IMG_SIZE = 1024, PH_OFF = 64, STR_OFF = 256, VN_OFF = 384, DYN_OFF = 512 };

/* The string table; offsets below index into it. */
static const char img_strings[] = "\0libfoo.so.1\0libc.so.6\0GLIBC_2.34\0GLIBC_2.2.5\0libbar.so\0$ORIGIN/../lib";
enum { S_FOO = 1, S_LIBC = 13, S_G234 = 23, S_G225 = 34, S_SONAME = 46, S_RUNPATH = 56 };

typedef struct {
    uint8_t b[IMG_SIZE];
    int is64, msb;
    size_t len;
} img;

static void img_put(img *m, size_t off, size_t size, uint64_t v)
{
    for (size_t i = 0; i < size; i++) {
        size_t at = m->msb ? off + size - 1 - i : off + i;
        m->b[at] = (uint8_t)(v >> (8 * i));
    }
}

/* Field f of Elf32_T/Elf64_T at base, laid out by <elf.h>. */
#define IMG_SET(m, base, T, f, v)                                                          \
    img_put((m), (base) + ((m)->is64 ? offsetof(Elf64_##T, f) : offsetof(Elf32_##T, f)),   \
            (m)->is64 ? sizeof(((Elf64_##T *)0)->f) : sizeof(((Elf32_##T *)0)->f), (v))
#define IMG_SIZEOF(m, T) ((m)->is64 ? sizeof(Elf64_##T) : sizeof(Elf32_##T))

static void img_dyn(img *m, int i, uint64_t tag, uint64_t val)
{
    size_t base = DYN_OFF + (size_t)i * IMG_SIZEOF(m, Dyn);
    IMG_SET(m, base, Dyn, d_tag, tag);
    IMG_SET(m, base, Dyn, d_un.d_val, val);
}

static void img_header(img *m, unsigned machine)
{
    memcpy(m->b, ELFMAG, SELFMAG);
    m->b[EI_CLASS] = m->is64 ? ELFCLASS64 : ELFCLASS32;
    m->b[EI_DATA] = m->msb ? ELFDATA2MSB : ELFDATA2LSB;
    m->b[EI_VERSION] = EV_CURRENT;
    IMG_SET(m, 0, Ehdr, e_type, ET_DYN);
    IMG_SET(m, 0, Ehdr, e_machine, machine);
    IMG_SET(m, 0, Ehdr, e_phoff, PH_OFF);
    IMG_SET(m, 0, Ehdr, e_phnum, 2);
    IMG_SET(m, 0, Ehdr, e_phentsize, IMG_SIZEOF(m, Phdr));
    IMG_SET(m, 0, Ehdr, e_ehsize, IMG_SIZEOF(m, Ehdr));
}

static void img_phdrs(img *m)
{
    size_t ph2 = PH_OFF + IMG_SIZEOF(m, Phdr);
    /* One segment maps the whole file at address 0x10000, so addresses and
     * offsets differ and the reader must translate. */
    IMG_SET(m, PH_OFF, Phdr, p_type, PT_LOAD);
    IMG_SET(m, PH_OFF, Phdr, p_offset, 0);
    IMG_SET(m, PH_OFF, Phdr, p_vaddr, 0x10000);
    IMG_SET(m, PH_OFF, Phdr, p_filesz, IMG_SIZE);
    IMG_SET(m, PH_OFF, Phdr, p_memsz, IMG_SIZE);
    IMG_SET(m, ph2, Phdr, p_type, PT_DYNAMIC);
    IMG_SET(m, ph2, Phdr, p_offset, DYN_OFF);
    IMG_SET(m, ph2, Phdr, p_vaddr, 0x10000 + DYN_OFF);
    IMG_SET(m, ph2, Phdr, p_filesz, 12 * IMG_SIZEOF(m, Dyn));
}

static void img_verneed(img *m)
{
    size_t aux = VN_OFF + sizeof(Elf64_Verneed); /* same size in both classes */
    IMG_SET(m, VN_OFF, Verneed, vn_version, 1);
    IMG_SET(m, VN_OFF, Verneed, vn_cnt, 2);
    IMG_SET(m, VN_OFF, Verneed, vn_file, S_LIBC);
    IMG_SET(m, VN_OFF, Verneed, vn_aux, sizeof(Elf64_Verneed));
    IMG_SET(m, VN_OFF, Verneed, vn_next, 0);
    IMG_SET(m, aux, Vernaux, vna_name, S_G225);
    IMG_SET(m, aux, Vernaux, vna_other, 2);
    IMG_SET(m, aux, Vernaux, vna_next, sizeof(Elf64_Vernaux));
    aux += sizeof(Elf64_Vernaux);
    IMG_SET(m, aux, Vernaux, vna_name, S_G234);
    IMG_SET(m, aux, Vernaux, vna_other, 3);
    IMG_SET(m, aux, Vernaux, vna_next, 0);
}

/* A shared library needing libfoo.so.1 and libc.so.6 (GLIBC_2.2.5 and 2.34). */
static img img_make(int is64, int msb, unsigned machine)
{
    img m;
    memset(&m, 0, sizeof m);
    m.is64 = is64;
    m.msb = msb;
    m.len = IMG_SIZE;
    img_header(&m, machine);
    img_phdrs(&m);
    memcpy(m.b + STR_OFF, img_strings, sizeof img_strings);
    img_verneed(&m);
    int i = 0;
    img_dyn(&m, i++, DT_NEEDED, S_FOO);
    img_dyn(&m, i++, DT_NEEDED, S_LIBC);
    img_dyn(&m, i++, DT_SONAME, S_SONAME);
    img_dyn(&m, i++, DT_RUNPATH, S_RUNPATH);
    img_dyn(&m, i++, DT_STRTAB, 0x10000 + STR_OFF);
    img_dyn(&m, i++, DT_STRSZ, sizeof img_strings);
    img_dyn(&m, i++, DT_VERNEED, 0x10000 + VN_OFF);
    img_dyn(&m, i++, DT_VERNEEDNUM, 1);
    img_dyn(&m, i, DT_NULL, 0);
    return m;
}

static int img_parse(const img *m, elf_info *info, char *err)
{
    return elf_parse(m->b, m->len, info, err, 160);
}

/* Parse and expect ELF_MALFORMED with exactly `want` as the reason. */
static void img_expect_malformed(const img *m, const char *want)
{
    elf_info info;
    char err[160];
    assert_int_equal(img_parse(m, &info, err), ELF_MALFORMED);
    assert_string_equal(err, want);
}

/* ------------------------------------------------------------ good images */

static void check_good(int is64, int msb, unsigned machine)
{
    img m = img_make(is64, msb, machine);
    elf_info info;
    char err[160];
    assert_int_equal(img_parse(&m, &info, err), ELF_OK);
    assert_int_equal(info.elf_class, is64 ? ELFCLASS64 : ELFCLASS32);
    assert_int_equal(info.data, msb ? ELFDATA2MSB : ELFDATA2LSB);
    assert_int_equal(info.machine, machine);
    assert_int_equal(info.type, ET_DYN);
    assert_true(info.dynamic);
    assert_int_equal(info.n_needed, 2);
    assert_string_equal(info.needed[0], "libfoo.so.1");
    assert_string_equal(info.needed[1], "libc.so.6");
    assert_string_equal(info.soname, "libbar.so");
    assert_string_equal(info.runpath, "$ORIGIN/../lib");
    assert_null(info.rpath);
    assert_string_equal(info.glibc_max, "GLIBC_2.34");
    assert_string_equal(info.glibcxx_max, "");
    elf_info_free(&info);
}

static void test_elf64_lsb(void **state) { (void)state; check_good(1, 0, EM_X86_64); }
static void test_elf64_msb(void **state) { (void)state; check_good(1, 1, EM_AARCH64); }
static void test_elf32_lsb(void **state) { (void)state; check_good(0, 0, EM_ARM); }
static void test_elf32_msb(void **state) { (void)state; check_good(0, 1, EM_PPC); }

static void test_static_has_no_dynamic(void **state)
{
    (void)state;
    img m = img_make(1, 0, EM_X86_64);
    IMG_SET(&m, 0, Ehdr, e_phnum, 1); /* drop PT_DYNAMIC */
    elf_info info;
    char err[160];
    assert_int_equal(img_parse(&m, &info, err), ELF_OK);
    assert_false(info.dynamic);
    assert_int_equal(info.n_needed, 0);
    assert_string_equal(info.glibc_max, "");
}

static void test_not_elf(void **state)
{
    (void)state;
    elf_info info;
    char err[160];
    assert_int_equal(elf_parse("hello world", 11, &info, err, sizeof err), ELF_NOT_ELF);
    assert_int_equal(elf_parse("\x7f" "EL", 3, &info, err, sizeof err), ELF_NOT_ELF);
    assert_int_equal(elf_parse(NULL, 0, &info, err, sizeof err), ELF_NOT_ELF);
}

/* --------------------------------------------------------- broken images */

static void test_truncated_ident(void **state)
{
    (void)state;
    img m = img_make(1, 0, EM_X86_64);
    m.len = 10;
    img_expect_malformed(&m, "truncated ELF identification (10 bytes)");
    m.len = 40;
    img_expect_malformed(&m, "truncated ELF header (40 bytes)");
}

/* Cutting the file anywhere must give ELF_MALFORMED, never a crash or ELF_OK. */
static void test_every_truncation(void **state)
{
    (void)state;
    for (int variant = 0; variant < 4; variant++) {
        img m = img_make(variant & 1, variant >> 1, EM_X86_64);
        for (size_t len = 4; len < IMG_SIZE; len++) {
            elf_info info;
            char err[160];
            m.len = len;
            assert_int_equal(img_parse(&m, &info, err), ELF_MALFORMED);
            assert_true(err[0] != '\0');
        }
    }
}

static void test_bad_class_and_order(void **state)
{
    (void)state;
    img m = img_make(1, 0, EM_X86_64);
    m.b[EI_CLASS] = 7;
    img_expect_malformed(&m, "unknown ELF class 7");
    m = img_make(1, 0, EM_X86_64);
    m.b[EI_DATA] = 0;
    img_expect_malformed(&m, "unknown ELF byte order 0");
}

static void test_bad_program_headers(void **state)
{
    (void)state;
    img m = img_make(1, 0, EM_X86_64);
    IMG_SET(&m, 0, Ehdr, e_phoff, 0xffffffffffffff00ull);
    img_expect_malformed(&m, "program header table lies outside the file (truncated?)");
    m = img_make(1, 0, EM_X86_64);
    IMG_SET(&m, 0, Ehdr, e_phnum, 60000);
    img_expect_malformed(&m, "program header table lies outside the file (truncated?)");
    m = img_make(1, 0, EM_X86_64);
    IMG_SET(&m, 0, Ehdr, e_phnum, PN_XNUM);
    img_expect_malformed(&m, "extended program header numbering (PN_XNUM) is not supported");
    m = img_make(0, 1, EM_PPC);
    IMG_SET(&m, 0, Ehdr, e_phentsize, 8);
    img_expect_malformed(&m, "program header entries are too small (8 bytes)");
}

static void test_bad_segments(void **state)
{
    (void)state;
    img m = img_make(1, 0, EM_X86_64);
    IMG_SET(&m, PH_OFF, Phdr, p_filesz, 0xffffffffffffffffull);
    img_expect_malformed(&m, "segment 0 extends past the end of the file (truncated?)");
    m = img_make(1, 0, EM_X86_64);
    IMG_SET(&m, PH_OFF + sizeof(Elf64_Phdr), Phdr, p_offset, 4000);
    img_expect_malformed(&m, "PT_DYNAMIC lies outside the file (truncated?)");
}

static void test_bad_string_table(void **state)
{
    (void)state;
    img m = img_make(1, 0, EM_X86_64);
    img_dyn(&m, 4, DT_STRTAB, 0x900000);
    img_expect_malformed(&m, "DT_STRTAB 0x900000 is not inside any loaded segment");
    m = img_make(1, 0, EM_X86_64);
    img_dyn(&m, 5, DT_STRSZ, 0x7fffffff);
    img_expect_malformed(&m, "dynamic string table lies outside the file (truncated?)");
    m = img_make(1, 0, EM_X86_64);
    img_dyn(&m, 0, DT_NEEDED, 5000);
    img_expect_malformed(&m, "DT_NEEDED string at 5000 is out of range or unterminated");
    /* A table whose size stops before the runpath's terminator: no reading past it. */
    m = img_make(1, 0, EM_X86_64);
    img_dyn(&m, 5, DT_STRSZ, sizeof img_strings - 1);
    img_expect_malformed(&m, "DT_RUNPATH string at 56 is out of range or unterminated");
    m = img_make(0, 0, EM_ARM);
    img_dyn(&m, 4, DT_NULL, 0); /* names strings, no DT_STRTAB */
    img_expect_malformed(&m, "dynamic section names strings but has no DT_STRTAB/DT_STRSZ");
}

static void test_hostile_version_needs(void **state)
{
    (void)state;
    img m = img_make(1, 0, EM_X86_64);
    img_dyn(&m, 7, DT_VERNEEDNUM, 100000);
    img_expect_malformed(&m, "DT_VERNEEDNUM 100000 is implausibly large");
    /* A chain pointing past the end of the file. */
    m = img_make(1, 0, EM_X86_64);
    img_dyn(&m, 7, DT_VERNEEDNUM, 1000);
    IMG_SET(&m, VN_OFF, Verneed, vn_next, 0x7fffffff);
    img_expect_malformed(&m, "version need entry 1 lies outside the file");
    /* Auxiliary entries: a huge count with a forward chain ends at the file's end. */
    m = img_make(1, 0, EM_X86_64);
    IMG_SET(&m, VN_OFF, Verneed, vn_cnt, 65535);
    IMG_SET(&m, VN_OFF + 32, Vernaux, vna_next, 0x7fffffff);
    img_expect_malformed(&m, "version need auxiliary entry lies outside the file");
    m = img_make(1, 0, EM_X86_64);
    IMG_SET(&m, VN_OFF + 16, Vernaux, vna_name, 9999);
    img_expect_malformed(&m, "version name at 9999 is out of range or unterminated");
}

static void test_many_needed(void **state)
{
    (void)state;
    static uint8_t big[256 + 16 * 1100 + 64];
    img m = img_make(1, 0, EM_X86_64);
    /* Rebuild the dynamic section far larger than any real library's. */
    memset(big, 0, sizeof big);
    memcpy(big, m.b, 256);
    size_t dyn = 256, str = dyn + 16 * 1100;
    memcpy(big + str, "\0libx.so", 9);
    elf_info info;
    char err[160];
    /* p_filesz covers the buffer; PT_DYNAMIC has 1100 entries. */
    for (size_t i = 0; i < 1090; i++) {
        uint64_t tag = DT_NEEDED, val = 1;
        memcpy(big + dyn + 16 * i, &tag, 8);
        memcpy(big + dyn + 16 * i + 8, &val, 8);
    }
    uint64_t v;
    v = sizeof big;
    memcpy(big + 64 + offsetof(Elf64_Phdr, p_filesz), &v, 8);
    v = dyn;
    memcpy(big + 64 + 56 + offsetof(Elf64_Phdr, p_offset), &v, 8);
    v = 16 * 1100;
    memcpy(big + 64 + 56 + offsetof(Elf64_Phdr, p_filesz), &v, 8);
    assert_int_equal(elf_parse(big, sizeof big, &info, err, sizeof err), ELF_MALFORMED);
    assert_string_equal(err, "more than 1024 DT_NEEDED entries");
}

/* Tables that overlap each other: the strings live inside the dynamic section
 * and the section headers sit on the program headers.  Any answer is fine as
 * long as the reader stays inside the buffer (the sanitizers check that). */
static void test_overlapping_tables(void **state)
{
    (void)state;
    for (int variant = 0; variant < 4; variant++) {
        img m = img_make(variant & 1, variant >> 1, EM_X86_64);
        img_dyn(&m, 4, DT_STRTAB, 0x10000 + DYN_OFF);
        img_dyn(&m, 5, DT_STRSZ, IMG_SIZE - DYN_OFF);
        img_dyn(&m, 8, DT_SYMTAB, 0x10000 + PH_OFF);
        img_dyn(&m, 9, DT_VERSYM, 0x10000 + DYN_OFF);
        img_dyn(&m, 10, DT_NULL, 0);
        IMG_SET(&m, 0, Ehdr, e_shoff, PH_OFF);
        IMG_SET(&m, 0, Ehdr, e_shnum, 40);
        IMG_SET(&m, 0, Ehdr, e_shentsize, IMG_SIZEOF(&m, Shdr));
        elf_info info;
        char err[160];
        int rc = img_parse(&m, &info, err);
        assert_true(rc == ELF_OK || rc == ELF_MALFORMED);
        if (rc == ELF_OK)
            elf_info_free(&info);
    }
}

/* -------------------------------------------------------------- helpers */

static void test_version_cmp(void **state)
{
    (void)state;
    assert_true(elf_version_cmp("2.34", "2.26") > 0);
    assert_true(elf_version_cmp("2.4", "2.34") < 0);
    assert_true(elf_version_cmp("2.2.5", "2.2") > 0);
    assert_int_equal(elf_version_cmp("2.26", "2.26"), 0);
    assert_int_equal(elf_version_cmp("3.4.30", "3.4.30"), 0);
    assert_true(elf_version_cmp("3.4.30", "3.4.29") > 0);
    assert_int_equal(elf_version_cmp("", ""), 0);
}

static void test_machine_names(void **state)
{
    (void)state;
    char tmp[32];
    assert_string_equal(elf_machine_name(EM_X86_64, tmp, sizeof tmp), "x86_64");
    assert_string_equal(elf_machine_name(EM_AARCH64, tmp, sizeof tmp), "arm64");
    assert_string_equal(elf_machine_name(EM_386, tmp, sizeof tmp), "i386");
    assert_string_equal(elf_machine_name(4242, tmp, sizeof tmp), "machine 4242");
    assert_int_equal(elf_arch_machine("x86_64"), EM_X86_64);
    assert_int_equal(elf_arch_machine("aarch64"), EM_AARCH64);
    assert_int_equal(elf_arch_machine("arm64"), EM_AARCH64);
    assert_int_equal(elf_arch_machine("sparc"), 0);
}

/* This test binary itself: a real ELF built by the host compiler. */
static void test_load_real_file(void **state)
{
    (void)state;
    elf_info info;
    char err[160];
    int cmocka = 0;
    assert_int_equal(elf_load("/proc/self/exe", &info, err, sizeof err), ELF_OK);
#if defined(__x86_64__)
    assert_int_equal(info.machine, EM_X86_64);
#elif defined(__aarch64__)
    assert_int_equal(info.machine, EM_AARCH64);
#endif
    for (size_t i = 0; i < info.n_needed; i++)
        cmocka |= !strcmp(info.needed[i], "libcmocka.so.0");
    assert_true(cmocka);
    assert_true(elf_version_cmp(info.glibc_max + 6, "2.2") >= 0);
    elf_info_free(&info);
}

/* Relocation tables are reported only where the loader maps them read-only: the loader
 * module hands their pages back after a load, which must never touch written data. */
static void test_relocation_tables(void **state)
{
    (void)state;
    elf_info info;
    char err[160];
    img m = img_make(1, 0, EM_X86_64);
    img_dyn(&m, 8, DT_RELA, 0x10000 + 700);
    img_dyn(&m, 9, DT_RELASZ, 48);
    img_dyn(&m, 10, DT_JMPREL, 0x10000 + 900);
    img_dyn(&m, 11, DT_PLTRELSZ, 200); /* runs past the end of the segment */
    assert_int_equal(img_parse(&m, &info, err), ELF_OK);
    assert_int_equal(info.relocs[0].vaddr, 0x10000 + 700);
    assert_int_equal(info.relocs[0].size, 48);
    assert_int_equal(info.relocs[2].size, 0);
    assert_int_equal(info.relocs[1].size + info.relocs[3].size, 0);
    elf_info_free(&info);
    IMG_SET(&m, PH_OFF, Phdr, p_flags, PF_R | PF_W); /* now the segment is writable */
    assert_int_equal(img_parse(&m, &info, err), ELF_OK);
    assert_int_equal(info.relocs[0].size, 0);
    elf_info_free(&info);
}

/* The loader's reader: the same names as the full read, no version facts, same errors. */
static void test_load_needed(void **state)
{
    (void)state;
    elf_info full, names;
    char err[160];
    assert_int_equal(elf_load("/proc/self/exe", &full, err, sizeof err), ELF_OK);
    assert_int_equal(elf_load_needed("/proc/self/exe", &names, err, sizeof err), ELF_OK);
    assert_int_equal(names.n_needed, full.n_needed);
    assert_true(names.n_needed > 0);
    for (size_t i = 0; i < names.n_needed; i++)
        assert_string_equal(names.needed[i], full.needed[i]);
    assert_string_equal(names.glibc_max, "");
    assert_string_not_equal(full.glibc_max, "");
    elf_info_free(&full);
    elf_info_free(&names);
    assert_int_equal(elf_load_needed("/nonexistent/libx.so", &names, err, sizeof err), ELF_IO);
    assert_string_equal(err, "cannot open /nonexistent/libx.so: No such file or directory");
    assert_int_equal(elf_load_needed("/etc/hostname", &names, err, sizeof err), ELF_NOT_ELF);
    assert_int_equal(elf_load_needed("/dev/null", &names, err, sizeof err), ELF_IO);
}

static void test_load_errors(void **state)
{
    (void)state;
    elf_info info;
    char err[160];
    assert_int_equal(elf_load("/nonexistent/libx.so", &info, err, sizeof err), ELF_IO);
    assert_string_equal(err, "cannot open /nonexistent/libx.so: No such file or directory");
    assert_int_equal(elf_load("/", &info, err, sizeof err), ELF_IO);
    assert_string_equal(err, "/ is not a regular file");
    assert_int_equal(elf_load("/etc/hostname", &info, err, sizeof err), ELF_NOT_ELF);
}

/* ------------------------------------------------------------- the seeds */

static int seeds_write(const char *dir)
{
    char path[4096];
    int n = 0;
    for (int variant = 0; variant < 4; variant++) {
        static const unsigned machines[] = {EM_X86_64, EM_AARCH64, EM_ARM, EM_PPC};
        img m = img_make(variant & 1, variant >> 1, machines[variant]);
        snprintf(path, sizeof path, "%s/seed-%d", dir, variant);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(m.b, 1, m.len, f) != m.len)
            return 1;
        fclose(f);
        n++;
    }
    printf("%d seeds in %s\n", n, dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-seeds"))
        return seeds_write(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf64_lsb),
        cmocka_unit_test(test_elf64_msb),
        cmocka_unit_test(test_elf32_lsb),
        cmocka_unit_test(test_elf32_msb),
        cmocka_unit_test(test_static_has_no_dynamic),
        cmocka_unit_test(test_not_elf),
        cmocka_unit_test(test_truncated_ident),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_bad_class_and_order),
        cmocka_unit_test(test_bad_program_headers),
        cmocka_unit_test(test_bad_segments),
        cmocka_unit_test(test_bad_string_table),
        cmocka_unit_test(test_hostile_version_needs),
        cmocka_unit_test(test_many_needed),
        cmocka_unit_test(test_overlapping_tables),
        cmocka_unit_test(test_version_cmp),
        cmocka_unit_test(test_machine_names),
        cmocka_unit_test(test_load_real_file),
        cmocka_unit_test(test_relocation_tables),
        cmocka_unit_test(test_load_needed),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests_name("elf", tests, NULL, NULL);
}
