/* Shared declarations of the benchmark driver (bench/driver.c and friends).
 *
 * The driver is its own Lambda Runtime API: a tiny HTTP/1.1 server on
 * 127.0.0.1 that hands canned events to the runtime under test and times the
 * exchange from the outside. Everything here is single-threaded and every
 * wait has a deadline, so a broken runtime costs a timeout, never a hang. */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* ---- time (bench_util.c) ---- */
uint64_t clock_ns(void);   /* CLOCK_MONOTONIC */
uint64_t wall_ms(void);    /* CLOCK_REALTIME, Unix epoch milliseconds */

/* ---- growable byte buffer (bench_util.c) ---- */
struct buf {
    char *p;
    size_t len;
    size_t cap;
};
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t n);
void buf_free(struct buf *b);

/* ---- statistics over nanosecond samples (bench_util.c) ---- */
struct stats {
    double min_us, p50_us, p90_us, p99_us, p999_us, max_us, mean_us;
};
void stats_compute(uint64_t *ns, size_t n, struct stats *out); /* sorts ns */

/* ---- canned JSON events (bench_event.c) ---- */
/* Writes exactly `size` bytes of JSON that Python's json.dumps reproduces
 * byte for byte, so an echo handler's answer can be compared with memcmp. */
int event_make(struct buf *b, size_t size);
extern const char EVENT_SMALL[];

/* ---- loopback HTTP server (bench_http.c) ---- */
enum { HTTP_GET = 1, HTTP_POST = 2, HTTP_OTHER = 3 };
#define SRV_MAX_CONN 8

struct http_req {
    int method;
    char path[256];
    const char *body; /* valid until srv_release() */
    size_t body_len;
    int conn;             /* index into srv.conns */
    uint64_t t_complete;  /* clock_ns() when the last byte arrived */
};

struct srv_conn {
    int fd;           /* -1 when the slot is free */
    struct buf in;    /* raw bytes read from the socket */
    struct buf body;  /* de-chunked body, when Transfer-Encoding: chunked */
    size_t consumed;  /* length of the complete request at the head of `in` */
    int sent_continue;
    unsigned tag;     /* the driver's marks (which APIs used it); cleared on close */
};

struct srv {
    int lfd;
    int port;
    int watch_fd;       /* pidfd of the child: readable when it exits; -1 for none */
    unsigned accepted;  /* connections accepted since srv_reset_counts() */
    struct srv_conn conns[SRV_MAX_CONN];
};

int srv_open(struct srv *s);
void srv_close_conns(struct srv *s);
void srv_close(struct srv *s);
/* 0 on a complete request; -ETIMEDOUT, -ECHILD (child exited), -EPROTO. */
int srv_wait_request(struct srv *s, struct http_req *r, uint64_t deadline);
void srv_release(struct srv *s, const struct http_req *r);
int srv_send(struct srv *s, int conn, const char *head, size_t head_len,
             const char *body, size_t body_len, uint64_t deadline);

/* ---- child processes (bench_proc.c) ---- */
struct child {
    pid_t pid;
    int pidfd;
    uint64_t t_exec; /* clock_ns() taken in the child just before execve */
};
struct spawn_opts {
    char *const *argv;
    char *const *envp;
    int cpu;              /* pin the child to this CPU; -1 for no pinning */
    const char *log_path; /* the child's stdout+stderr */
};
int child_spawn(struct child *c, const struct spawn_opts *o);
int child_kill(struct child *c, struct rusage *ru);
int child_wait_exit(struct child *c, uint64_t deadline, struct rusage *ru,
                    int *status, uint64_t *t_exit);
void child_install_guard(unsigned max_seconds);

struct proc_mem {
    long rss_kb, hwm_kb, anon_kb, file_kb;
};
int proc_read_mem(pid_t pid, struct proc_mem *m);
uint64_t proc_cpu_ns(pid_t pid); /* on-CPU time of all its threads, 0 if unknown */
int proc_clean_pycache(const char *dir);

#endif
