/* doctor_tree.h: what the layer doctor checks, read into memory (src/doctor_tree.c).
 *
 * Each PATH given to `bootstrap --check` (a directory, a .zip or one file) is a tree
 * of entries, placed where Lambda unpacks it: a function package under /var/task,
 * a layer under /opt.  doctor_files_lookup finds a path across all trees with
 * symlinks followed, the later tree winning, as on Lambda where later layers
 * overwrite earlier ones. */
#ifndef BOOTSTRAP_DOCTOR_TREE_H
#define BOOTSTRAP_DOCTOR_TREE_H

#include "elf.h"

#include <stddef.h>
#include <stdint.h>

enum doctor_kind { DOCTOR_FILE, DOCTOR_LINK, DOCTOR_DIR };
enum doctor_state { DOCTOR_UNSCANNED, DOCTOR_NOT_ELF, DOCTOR_ELF, DOCTOR_MALFORMED, DOCTOR_UNREADABLE };

struct doctor_tree;
struct doctor_zip_api;

typedef struct doctor_entry {
    char *rel;   /* path inside the tree, without a leading '/' */
    char *vpath; /* where Lambda puts it: /opt/REL or /var/task/REL */
    char *link;  /* symlink target */
    int kind, state;
    uint64_t size;
    int64_t zindex;
    unsigned char head[64];
    size_t head_len;
    elf_info info; /* when state is DOCTOR_ELF */
    char err[160]; /* why, when state is DOCTOR_MALFORMED or DOCTOR_UNREADABLE */
    struct doctor_tree *tree;
} doctor_entry;

typedef struct doctor_tree {
    const char *arg;  /* PATH as given */
    char *root;       /* directory to read from (dirs and single files) */
    int is_zip, is_function;
    const char *mount; /* "/opt" or "/var/task" */
    void *zip;
    doctor_entry *entries; /* sorted by rel */
    size_t n, cap, index;
    char **unsafe; /* zip entry names that are absolute or climb out with "..": not read */
    size_t n_unsafe;
} doctor_tree;

typedef struct {
    doctor_tree *trees; /* in the order given */
    size_t n_trees;
    doctor_entry **index; /* every entry of every tree, by vpath */
    size_t n_index;
    struct doctor_zip_api *zip;
} doctor_files;

/* Reads every path into *f (zeroed by the caller) and the head of every file.
 * -1 with a message naming the path that cannot be read; *f is then still
 * released with doctor_files_free. */
int doctor_files_open(doctor_files *f, const char *const *paths, size_t n, char *err, size_t len);
void doctor_files_free(doctor_files *f);

/* The file at vpath (an absolute path as on Lambda), following symlinks in any
 * component, or NULL. */
doctor_entry *doctor_files_lookup(doctor_files *f, const char *vpath);

/* Reads what is needed to know an entry's state, and parses it when it is ELF. */
void doctor_entry_scan(doctor_files *f, doctor_entry *e);
/* Up to len bytes of the entry's content; the count read, or -1. */
int64_t doctor_entry_read(doctor_files *f, doctor_entry *e, void *buf, uint64_t len);

/* 1 when the entry lies in (or is) the tree's top-level directory `name`. */
int doctor_top_is(const doctor_entry *e, const char *name);
/* EM_X86_64 or EM_AARCH64 for an entry under a layer's x86_64/ or arm64/, else 0. */
unsigned doctor_arch_dir(const doctor_entry *e);

#endif
