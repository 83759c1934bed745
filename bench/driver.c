/* bench driver: serves the Lambda Runtime API on 127.0.0.1 to one runtime
 * process and times it from the outside. One mode per run; results are one
 * JSON object on stdout (bench/run.py merges them). See bench/README.md.
 *
 *   driver cold  [opts] -- PROGRAM ARGS...   exec -> first GET /next, -> first response
 *   driver warm  [opts] -- PROGRAM ARGS...   per-invocation latency, throughput, RSS growth
 *   driver echo  [opts] -- PROGRAM ARGS...   1 KB / 256 KB / 6 MB echo round trips
 *   driver exit  [opts] -- PROGRAM ARGS...   exec -> exit (the bare interpreter)
 *   driver event SIZE                        print the canned SIZE-byte event
 */
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ENV 64
#define MAX_SIZES 8
#define MAX_RUNTIMES 4
#define API "/2018-06-01/runtime"
#define EXT_API "/2020-01-01/extension"
#define TAG_RUNTIME 1u
#define TAG_EXTENSION 2u

struct opts {
    const char *mode;
    unsigned runs, invokes, warmup, samples;
    size_t sizes[MAX_SIZES];
    unsigned size_runs[MAX_SIZES];
    int nsizes;
    char *env[MAX_ENV + 2];
    int nenv;
    const char *log_path;
    const char *log_dir;
    char *names;
    const char *pycache_dir;
    unsigned block;
    int cpu_driver, cpu_child;
    unsigned timeout_ms, max_seconds;
    char **argv;
};

/* Counters every mode reports, so run.py can check nothing was lost. */
struct tally {
    unsigned long sent, completed, errors, mismatches, unexpected;
    unsigned long ext_registered, ext_parked;
};

struct session {
    const struct opts *o;
    const char *name;
    char **argv;
    char *env[MAX_ENV + 2];
    char port_var[64];
    char log_path[512];
    int failed;         /* set once an invocation failed: skipped from then on */
    char error[160];
    struct srv srv;
    struct child child;
    struct tally t;
    int next_conn;      /* connection holding the pending GET /next */
    unsigned rt_conns;  /* connections that carried Runtime API requests, this process */
    unsigned ext_conns; /* connections that carried Extensions API requests, this process */
    unsigned long seq;  /* request id counter */
    char id[64];
};

static uint64_t deadline_in(const struct opts *o)
{
    return clock_ns() + (uint64_t)o->timeout_ms * 1000000u;
}

static void reply_status(struct session *s, int conn, const char *status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     status, strlen(body));
    srv_send(&s->srv, conn, head, (size_t)n, body, strlen(body), deadline_in(s->o));
}

/* Counts the connections each API used (a runtime should keep one for its loop). */
static void session_mark_conn(struct session *s, const struct http_req *r)
{
    unsigned tag = strncmp(r->path, EXT_API, strlen(EXT_API)) ? TAG_RUNTIME : TAG_EXTENSION;
    unsigned *tagged = &s->srv.conns[r->conn].tag;
    if (*tagged & tag)
        return;
    *tagged |= tag;
    if (tag == TAG_RUNTIME)
        s->rt_conns++;
    else
        s->ext_conns++;
}

/* The Extensions API as far as an internal extension uses it: registration
 * is answered like Lambda answers it, and GET event/next is parked (never
 * answered: no SHUTDOWN comes while we measure). Returns 1 if handled. */
static int session_extension_request(struct session *s, const struct http_req *r)
{
    if (strncmp(r->path, EXT_API, strlen(EXT_API)))
        return 0;
    if (r->method == HTTP_POST && !strcmp(r->path, EXT_API "/register")) {
        static const char body[] =
            "{\"functionName\": \"bench\", \"functionVersion\": \"$LATEST\", \"handler\": \"noop.handler\"}";
        char head[256];
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Lambda-Extension-Identifier: 0a1b2c3d-%04lx-4000-8000-000000000000\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         ++s->t.ext_registered & 0xffff, sizeof(body) - 1);
        srv_send(&s->srv, r->conn, head, (size_t)n, body, sizeof(body) - 1, deadline_in(s->o));
        return 1;
    }
    if (r->method == HTTP_GET && !strcmp(r->path, EXT_API "/event/next")) {
        s->t.ext_parked++;
        return 1;
    }
    return 0;
}

/* Waits for the runtime's GET /next. Anything else (e.g. /init/error) is
 * answered 403 and counted; an init error ends the wait with -EPROTO. */
static int session_await_next(struct session *s, uint64_t *t_arrived)
{
    uint64_t deadline = deadline_in(s->o);
    for (int i = 0; i < 1000; i++) {
        struct http_req r;
        int rc = srv_wait_request(&s->srv, &r, deadline);
        if (rc)
            return rc;
        session_mark_conn(s, &r);
        int is_next = r.method == HTTP_GET && !strcmp(r.path, API "/invocation/next");
        int is_init_error = !strcmp(r.path, API "/init/error");
        int handled = !is_next && session_extension_request(s, &r);
        srv_release(&s->srv, &r);
        if (handled)
            continue;
        if (is_next) {
            s->next_conn = r.conn;
            if (t_arrived)
                *t_arrived = r.t_complete;
            return 0;
        }
        s->t.unexpected++;
        reply_status(s, r.conn, is_init_error ? "202 Accepted" : "403 Forbidden",
                     "{\"status\":\"OK\"}");
        if (is_init_error)
            return -EPROTO;
    }
    return -EPROTO;
}

static int session_send_event(struct session *s, const char *ev, size_t len, uint64_t *t_sent)
{
    snprintf(s->id, sizeof(s->id), "6f1c2d3e-%04x-4000-8000-%012lx",
             (unsigned)getpid() & 0xffff, ++s->seq);
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: application/json\r\n"
                     "Lambda-Runtime-Aws-Request-Id: %s\r\n"
                     "Lambda-Runtime-Deadline-Ms: %llu\r\n"
                     "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n"
                     "Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     s->id, (unsigned long long)(wall_ms() + 900000), len);
    *t_sent = clock_ns(); /* latency starts as the response to /next is written */
    int rc = srv_send(&s->srv, s->next_conn, head, (size_t)n, ev, len, deadline_in(s->o));
    if (rc == 0)
        s->t.sent++;
    return rc;
}

/* Waits for the result of the invocation in flight and acknowledges it.
 * The echo is checked against `ev`; t_done is when its last byte arrived. */
static int session_await_result(struct session *s, const char *ev, size_t len,
                                uint64_t *t_done, size_t *resp_len)
{
    char ok_path[160], err_path[160];
    snprintf(ok_path, sizeof(ok_path), API "/invocation/%s/response", s->id);
    snprintf(err_path, sizeof(err_path), API "/invocation/%s/error", s->id);
    uint64_t deadline = deadline_in(s->o);
    for (int i = 0; i < 1000; i++) {
        struct http_req r;
        int rc = srv_wait_request(&s->srv, &r, deadline);
        if (rc)
            return rc;
        session_mark_conn(s, &r);
        if (session_extension_request(s, &r)) {
            srv_release(&s->srv, &r);
            continue;
        }
        int ok = r.method == HTTP_POST && !strcmp(r.path, ok_path);
        int err = r.method == HTTP_POST && !strcmp(r.path, err_path);
        if (ok || err) {
            *t_done = r.t_complete;
            *resp_len = r.body_len;
            if (ok && (r.body_len != len || memcmp(r.body, ev, len)))
                s->t.mismatches++;
            s->t.completed += ok;
            s->t.errors += err;
            srv_release(&s->srv, &r);
            reply_status(s, r.conn, "202 Accepted", "{\"status\":\"OK\"}");
            return 0;
        }
        srv_release(&s->srv, &r);
        s->t.unexpected++;
        reply_status(s, r.conn, "400 Bad Request",
                     "{\"errorMessage\":\"unexpected request\",\"errorType\":\"InvalidRequestID\"}");
    }
    return -EPROTO;
}

/* One full invocation on a runtime that is waiting in GET /next. */
static int session_invoke(struct session *s, const char *ev, size_t len, uint64_t *lat_ns,
                          size_t *resp_len)
{
    uint64_t t0, t1;
    int rc = session_send_event(s, ev, len, &t0);
    if (!rc)
        rc = session_await_result(s, ev, len, &t1, resp_len);
    if (!rc)
        *lat_ns = t1 - t0;
    return rc;
}

/* The child's environment: the common --env list plus its own Runtime API. */
static void session_env(struct session *s)
{
    snprintf(s->port_var, sizeof(s->port_var), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", s->srv.port);
    for (int i = 0; i < s->o->nenv; i++)
        s->env[i] = s->o->env[i];
    s->env[s->o->nenv] = s->port_var;
    s->env[s->o->nenv + 1] = NULL;
}

static int session_start(struct session *s)
{
    session_env(s);
    struct spawn_opts so = {.argv = s->argv, .envp = s->env,
                            .cpu = s->o->cpu_child, .log_path = s->log_path};
    int rc = child_spawn(&s->child, &so);
    s->srv.watch_fd = rc ? -1 : s->child.pidfd;
    s->srv.accepted = 0;
    s->rt_conns = s->ext_conns = 0;
    return rc;
}

static void session_stop(struct session *s, struct rusage *ru)
{
    child_kill(&s->child, ru);
    s->srv.watch_fd = -1;
    srv_close_conns(&s->srv);
}

/* Records why a runtime dropped out of a multi-runtime run. */
static void session_fail(struct session *s, const char *what, int rc)
{
    s->failed = 1;
    snprintf(s->error, sizeof(s->error), "%s: %s", what, strerror(rc < 0 ? -rc : rc));
    fprintf(stderr, "driver: %s: %s\n", s->name, s->error);
}

static void fail(const char *mode, const char *what, int rc)
{
    printf("{\"mode\": \"%s\", \"error\": \"%s: %s\"}\n", mode, what, strerror(rc < 0 ? -rc : rc));
    fprintf(stderr, "driver %s: %s: %s\n", mode, what, strerror(rc < 0 ? -rc : rc));
}

static void print_tally(const struct tally *t, unsigned connections, unsigned ext_connections)
{
    printf("\"sent\": %lu, \"completed\": %lu, \"errors\": %lu, \"mismatches\": %lu, "
           "\"unexpected\": %lu, \"connections\": %u, \"extension_connections\": %u, "
           "\"extension_registrations\": %lu, \"extension_parked\": %lu",
           t->sent, t->completed, t->errors, t->mismatches, t->unexpected, connections,
           ext_connections, t->ext_registered, t->ext_parked);
}

static void print_ms_array(const char *key, const uint64_t *ns, unsigned n)
{
    printf("\"%s\": [", key);
    for (unsigned i = 0; i < n; i++)
        printf("%s%.3f", i ? ", " : "", (double)ns[i] / 1e6);
    printf("]");
}

static void print_long_array(const char *key, const long *v, unsigned n)
{
    printf("\"%s\": [", key);
    for (unsigned i = 0; i < n; i++)
        printf("%s%ld", i ? ", " : "", v[i]);
    printf("]");
}

/* ---- cold: exec -> first GET /next -> first response, once per start ---- */

struct cold_sample {
    uint64_t next_ns, resp_ns, cpu_ns;
    struct proc_mem mem;
    long maxrss_kb;
    unsigned connections;
};

static int cold_once(struct session *s, struct cold_sample *cs)
{
    if (s->o->pycache_dir)
        proc_clean_pycache(s->o->pycache_dir);
    int rc = session_start(s);
    if (rc)
        return rc;
    uint64_t t_next = 0, lat = 0;
    size_t resp_len;
    rc = session_await_next(s, &t_next);
    if (!rc) {
        /* Read memory before answering: the runtime is idle in GET /next. */
        proc_read_mem(s->child.pid, &cs->mem);
        cs->cpu_ns = proc_cpu_ns(s->child.pid);
        rc = session_invoke(s, EVENT_SMALL, strlen(EVENT_SMALL), &lat, &resp_len);
    }
    if (!rc)
        rc = session_await_next(s, NULL); /* proves it went back to the loop */
    cs->next_ns = t_next - s->child.t_exec;
    cs->resp_ns = t_next - s->child.t_exec + lat;
    cs->connections = s->rt_conns;
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    session_stop(s, &ru);
    cs->maxrss_kb = ru.ru_maxrss;
    return rc;
}

static int mode_cold(struct session *s)
{
    unsigned n = s->o->runs;
    struct cold_sample *cs = calloc(n, sizeof(*cs));
    uint64_t *next = calloc(n, sizeof(*next)), *resp = calloc(n, sizeof(*resp)),
             *cpu = calloc(n, sizeof(*cpu));
    long *rss = calloc(n, sizeof(long)), *hwm = calloc(n, sizeof(long)),
         *anon = calloc(n, sizeof(long)), *file = calloc(n, sizeof(long)),
         *maxrss = calloc(n, sizeof(long)), *conns = calloc(n, sizeof(long));
    if (!cs || !next || !resp || !cpu || !rss || !hwm || !anon || !file || !maxrss || !conns)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        int rc = cold_once(s, &cs[i]);
        if (rc) {
            fail("cold", "start failed", rc);
            return rc;
        }
        next[i] = cs[i].next_ns;
        resp[i] = cs[i].resp_ns;
        cpu[i] = cs[i].cpu_ns;
        rss[i] = cs[i].mem.rss_kb;
        hwm[i] = cs[i].mem.hwm_kb;
        anon[i] = cs[i].mem.anon_kb;
        file[i] = cs[i].mem.file_kb;
        maxrss[i] = cs[i].maxrss_kb;
        conns[i] = cs[i].connections;
    }
    printf("{\"mode\": \"cold\", \"runs\": %u, ", n);
    print_tally(&s->t, 0, 0);
    printf(",\n ");
    print_ms_array("next_ms", next, n);
    printf(",\n ");
    print_ms_array("first_response_ms", resp, n);
    printf(",\n ");
    print_ms_array("cpu_ms", cpu, n);
    printf(",\n ");
    print_long_array("rss_kb", rss, n);
    printf(",\n ");
    print_long_array("hwm_kb", hwm, n);
    printf(",\n ");
    print_long_array("anon_kb", anon, n);
    printf(",\n ");
    print_long_array("file_kb", file, n);
    printf(",\n ");
    print_long_array("maxrss_kb", maxrss, n);
    printf(",\n ");
    print_long_array("connections_per_start", conns, n);
    printf("}\n");
    free(cs), free(next), free(resp), free(cpu), free(rss), free(hwm), free(anon), free(file),
        free(maxrss), free(conns);
    return 0;
}

/* ---- warm: many invocations per process, several processes interleaved ---- */

struct warm_state {
    uint64_t *lat;
    unsigned done; /* invocations so far, warm-up included */
    long rss_init, hwm_init, rss_warm, rss_end, maxrss;
    long sample_at[64], sample_kb[64];
    unsigned nsamples;
    uint64_t busy_ns; /* wall time of the measured invocations (its own blocks only) */
    uint64_t cpu_first, cpu_last;
};

static long warm_rss(struct session *s)
{
    struct proc_mem m = {0};
    proc_read_mem(s->child.pid, &m);
    return m.rss_kb;
}

/* One invocation of the warm loop, with the bookkeeping at the warm-up
 * boundary (RSS and CPU baselines) and the RSS samples. */
static int warm_step(struct session *s, struct warm_state *w, uint64_t *t_measured)
{
    const struct opts *o = s->o;
    unsigned i = w->done;
    unsigned every = o->samples ? (o->invokes + o->samples - 1) / o->samples : o->invokes;
    if (i == o->warmup) {
        w->rss_warm = warm_rss(s); /* baseline for growth: after warm-up */
        w->cpu_first = proc_cpu_ns(s->child.pid);
    }
    if (i >= o->warmup && *t_measured == 0)
        *t_measured = clock_ns();
    uint64_t lat;
    size_t resp_len;
    int rc = session_invoke(s, EVENT_SMALL, strlen(EVENT_SMALL), &lat, &resp_len);
    if (!rc)
        rc = session_await_next(s, NULL);
    if (rc)
        return rc;
    w->done++;
    if (i < o->warmup)
        return 0;
    unsigned k = i - o->warmup;
    w->lat[k] = lat;
    if (every && (k + 1) % every == 0 && w->nsamples < 64) {
        w->sample_at[w->nsamples] = k + 1;
        w->sample_kb[w->nsamples++] = warm_rss(s);
    }
    return 0;
}

/* `count` consecutive invocations on one runtime. */
static int warm_block(struct session *s, struct warm_state *w, unsigned count)
{
    uint64_t t_measured = 0;
    int rc = 0;
    for (unsigned j = 0; j < count && !rc; j++)
        rc = warm_step(s, w, &t_measured);
    if (t_measured)
        w->busy_ns += clock_ns() - t_measured;
    if (!rc && w->done == s->o->warmup + s->o->invokes) {
        w->cpu_last = proc_cpu_ns(s->child.pid);
        w->rss_end = warm_rss(s);
    }
    return rc;
}

static void warm_print(const struct session *s, const struct warm_state *w)
{
    const struct opts *o = s->o;
    if (s->failed) {
        printf("{\"mode\": \"warm\", \"error\": \"%s\"}", s->error);
        return;
    }
    struct stats st;
    stats_compute(w->lat, o->invokes, &st);
    double secs = (double)w->busy_ns / 1e9;
    printf("{\"mode\": \"warm\", \"warmup\": %u, \"invokes\": %u, \"block\": %u, ", o->warmup, o->invokes,
           o->block);
    print_tally(&s->t, s->rt_conns, s->ext_conns);
    printf(",\n \"lat_us\": {\"min\": %.2f, \"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, "
           "\"p999\": %.2f, \"max\": %.2f, \"mean\": %.2f},\n",
           st.min_us, st.p50_us, st.p90_us, st.p99_us, st.p999_us, st.max_us, st.mean_us);
    printf(" \"elapsed_s\": %.4f, \"invokes_per_s\": %.1f, \"cpu_us_per_invoke\": %.2f,\n", secs,
           secs > 0 ? o->invokes / secs : 0,
           o->invokes ? (double)(w->cpu_last - w->cpu_first) / 1e3 / o->invokes : 0);
    printf(" \"rss_init_kb\": %ld, \"hwm_init_kb\": %ld, \"rss_after_warmup_kb\": %ld, "
           "\"rss_end_kb\": %ld, \"maxrss_kb\": %ld,\n",
           w->rss_init, w->hwm_init, w->rss_warm, w->rss_end, w->maxrss);
    printf(" \"rss_samples\": [");
    for (unsigned i = 0; i < w->nsamples; i++)
        printf("%s[%ld, %ld]", i ? ", " : "", w->sample_at[i], w->sample_kb[i]);
    printf("]}");
}

static int warm_begin(struct session *s, struct warm_state *w)
{
    w->lat = calloc(s->o->invokes ? s->o->invokes : 1, sizeof(*w->lat));
    int rc = w->lat ? session_start(s) : -ENOMEM;
    if (!rc)
        rc = session_await_next(s, NULL);
    if (rc)
        return rc;
    struct proc_mem m = {0};
    proc_read_mem(s->child.pid, &m);
    w->rss_init = m.rss_kb;
    w->hwm_init = m.hwm_kb;
    return 0;
}

/* Blocks of --block invocations go to each runtime in turn (the order
 * rotates every round), so all of them see the same drift in machine load
 * while each process still serves its whole run, warm-up to last. */
static int warm_rounds(struct session *ss, struct warm_state *ws, int n)
{
    const struct opts *o = ss[0].o;
    unsigned total = o->warmup + o->invokes, block = o->block ? o->block : total;
    for (unsigned round = 0; round <= total / block; round++) {
        for (int k = 0; k < n; k++) {
            int i = (k + (int)round) % n;
            if (ss[i].failed || ws[i].done >= total)
                continue;
            unsigned count = total - ws[i].done < block ? total - ws[i].done : block;
            int rc = warm_block(&ss[i], &ws[i], count);
            if (rc)
                session_fail(&ss[i], "invocation failed", rc);
        }
    }
    return 0;
}

static int mode_warm(struct session *ss, int n)
{
    struct warm_state ws[MAX_RUNTIMES];
    memset(ws, 0, sizeof(ws));
    for (int i = 0; i < n; i++) {
        int rc = warm_begin(&ss[i], &ws[i]);
        if (rc)
            session_fail(&ss[i], "start failed", rc);
    }
    warm_rounds(ss, ws, n);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        struct rusage ru;
        memset(&ru, 0, sizeof(ru));
        session_stop(&ss[i], &ru);
        ws[i].maxrss = ru.ru_maxrss;
        failed |= ss[i].failed;
    }
    int keyed = n > 1 || ss[0].o->names; /* results keyed by runtime name */
    printf(keyed ? "{\"mode\": \"warm\", \"runtimes\": {\n" : "");
    for (int i = 0; i < n; i++) {
        if (keyed)
            printf("%s\"%s\": ", i ? ",\n" : "", ss[i].name);
        warm_print(&ss[i], &ws[i]);
        free(ws[i].lat);
    }
    printf(keyed ? "}}\n" : "\n");
    return failed ? -EPROTO : 0;
}

/* ---- echo: payload round trips of several sizes, runtimes interleaved ---- */

struct echo_result {
    uint64_t *ms[MAX_SIZES];
    size_t resp_len[MAX_SIZES];
    unsigned long mismatches[MAX_SIZES];
    double cpu_ms[MAX_SIZES];
};

static int echo_once(struct session *s, const struct buf *ev, uint64_t *lat, size_t *resp_len)
{
    int rc = session_invoke(s, ev->p, ev->len, lat, resp_len);
    if (!rc)
        rc = session_await_next(s, NULL);
    if (rc)
        session_fail(s, "echo failed", rc);
    return rc;
}

/* One size: warm-up runs on each runtime, then the measured runs with the
 * runtimes taking turns (rotating), so load drift hits them alike. */
static int echo_size(struct session *ss, struct echo_result *er, int n, int z, const struct buf *ev)
{
    const struct opts *o = ss[0].o;
    unsigned runs = o->size_runs[z];
    uint64_t cpu0[MAX_RUNTIMES] = {0}, lat;
    unsigned long mism0[MAX_RUNTIMES];
    for (int i = 0; i < n; i++) {
        er[i].ms[z] = calloc(runs ? runs : 1, sizeof(uint64_t));
        if (!er[i].ms[z])
            return -ENOMEM;
        for (unsigned r = 0; r < o->warmup && !ss[i].failed; r++)
            echo_once(&ss[i], ev, &lat, &er[i].resp_len[z]);
        cpu0[i] = ss[i].failed ? 0 : proc_cpu_ns(ss[i].child.pid);
        mism0[i] = ss[i].t.mismatches;
    }
    for (unsigned r = 0; r < runs; r++) {
        for (int k = 0; k < n; k++) {
            int i = (k + (int)r) % n;
            if (!ss[i].failed && !echo_once(&ss[i], ev, &lat, &er[i].resp_len[z]))
                er[i].ms[z][r] = lat;
        }
    }
    for (int i = 0; i < n; i++) {
        if (ss[i].failed)
            continue;
        er[i].cpu_ms[z] = runs ? (double)(proc_cpu_ns(ss[i].child.pid) - cpu0[i]) / 1e6 / runs : 0;
        er[i].mismatches[z] = ss[i].t.mismatches - mism0[i];
    }
    return 0;
}

static void echo_print(const struct session *s, const struct echo_result *er)
{
    const struct opts *o = s->o;
    printf("{\"mode\": \"echo\", ");
    if (s->failed)
        printf("\"error\": \"%s\", ", s->error);
    printf("\"sizes\": [");
    for (int z = 0; !s->failed && z < o->nsizes; z++) {
        printf("%s\n  {\"bytes\": %zu, \"runs\": %u, \"response_bytes\": %zu, \"mismatches\": %lu, "
               "\"cpu_ms_per_run\": %.3f, ",
               z ? "," : "", o->sizes[z], o->size_runs[z], er->resp_len[z], er->mismatches[z], er->cpu_ms[z]);
        print_ms_array("ms", er->ms[z], o->size_runs[z]);
        printf("}");
    }
    printf("],\n ");
    print_tally(&s->t, s->rt_conns, s->ext_conns);
    printf("}");
}

static int mode_echo(struct session *ss, int n)
{
    struct echo_result er[MAX_RUNTIMES];
    memset(er, 0, sizeof(er));
    for (int i = 0; i < n; i++) {
        int rc = session_start(&ss[i]);
        if (!rc)
            rc = session_await_next(&ss[i], NULL);
        if (rc)
            session_fail(&ss[i], "start failed", rc);
    }
    struct buf ev = {0};
    int rc = 0, failed = 0;
    for (int z = 0; !rc && z < ss[0].o->nsizes; z++) {
        rc = event_make(&ev, ss[0].o->sizes[z]);
        if (!rc)
            rc = echo_size(ss, er, n, z, &ev);
    }
    buf_free(&ev);
    int keyed = n > 1 || ss[0].o->names; /* results keyed by runtime name */
    printf(keyed ? "{\"mode\": \"echo\", \"runtimes\": {\n" : "");
    for (int i = 0; i < n; i++) {
        session_stop(&ss[i], NULL);
        if (keyed)
            printf("%s\"%s\": ", i ? ",\n" : "", ss[i].name);
        echo_print(&ss[i], &er[i]);
        failed |= ss[i].failed;
        for (int z = 0; z < MAX_SIZES; z++)
            free(er[i].ms[z]);
    }
    printf(keyed ? "}}\n" : "\n");
    return rc ? rc : failed ? -EPROTO : 0;
}

/* ---- exit: the bare interpreter, exec -> exit ---- */

static int mode_exit(struct session *s)
{
    unsigned n = s->o->runs;
    uint64_t *ms = calloc(n, sizeof(*ms));
    uint64_t *cpu = calloc(n, sizeof(*cpu));
    long *maxrss = calloc(n, sizeof(long));
    unsigned bad = 0;
    if (!ms || !cpu || !maxrss)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        int rc = session_start(s), status = 0;
        uint64_t t_exit = 0;
        struct rusage ru;
        memset(&ru, 0, sizeof(ru));
        if (!rc)
            rc = child_wait_exit(&s->child, deadline_in(s->o), &ru, &status, &t_exit);
        if (rc) {
            fail("exit", "run failed", rc);
            return rc;
        }
        bad += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ms[i] = t_exit - s->child.t_exec;
        maxrss[i] = ru.ru_maxrss;
        cpu[i] = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
                 (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
    }
    printf("{\"mode\": \"exit\", \"runs\": %u, \"nonzero_exits\": %u,\n ", n, bad);
    print_ms_array("exit_ms", ms, n);
    printf(",\n ");
    print_ms_array("cpu_ms", cpu, n);
    printf(",\n ");
    print_long_array("maxrss_kb", maxrss, n);
    printf("}\n");
    free(ms);
    free(cpu);
    free(maxrss);
    return bad ? -ECHILD : 0;
}

/* ---- command line ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: driver cold|warm|echo|exit [options] -- PROGRAM [ARGS...]\n"
            "       driver warm|echo [options] --names A,B -- PROGRAM [ARGS...] :: PROGRAM [ARGS...]\n"
            "       driver event SIZE\n"
            "  --runs N          cold/exit: number of starts (default 20)\n"
            "  --invokes N       warm: measured invocations (default 20000)\n"
            "  --warmup N        warm/echo: unmeasured invocations first (default 1000 / 2)\n"
            "  --samples N       warm: RSS samples over the run (default 10, max 64)\n"
            "  --sizes A:R,...   echo: event bytes and runs, e.g. 1024:200,6291456:20\n"
            "  --env K=V         child environment (repeatable; nothing else is inherited)\n"
            "  --log FILE        child stdout+stderr (default /dev/null)\n"
            "  --names A,B,...   warm/echo: names of the runtimes separated by '::' (max 4);\n"
            "                    they run side by side, taking turns (results keyed by name)\n"
            "  --log-dir DIR     child output to DIR/NAME.log\n"
            "  --block N         warm: invocations per turn (default 1000)\n"
            "  --clean-pycache D cold: remove D/__pycache__ before each start\n"
            "  --cpu-driver N    pin the driver to CPU N\n"
            "  --cpu-child N     pin the runtime to CPU N\n"
            "  --timeout-ms N    limit on every wait (default 10000)\n"
            "  --max-seconds N   watchdog for the whole run (default 900)\n");
}

static int parse_sizes(struct opts *o, char *spec)
{
    char *save = NULL;
    for (char *tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->nsizes >= MAX_SIZES)
            return -1;
        char *colon = strchr(tok, ':');
        o->sizes[o->nsizes] = strtoull(tok, NULL, 10);
        o->size_runs[o->nsizes] = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 20;
        if (o->sizes[o->nsizes] < 32)
            return -1;
        o->nsizes++;
    }
    return 0;
}

static int parse_opt(struct opts *o, char *key, char *val)
{
    if (!strcmp(key, "--runs"))
        o->runs = (unsigned)strtoul(val, NULL, 10);
    else if (!strcmp(key, "--invokes"))
        o->invokes = (unsigned)strtoul(val, NULL, 10);
    else if (!strcmp(key, "--warmup"))
        o->warmup = (unsigned)strtoul(val, NULL, 10);
    else if (!strcmp(key, "--samples"))
        o->samples = (unsigned)strtoul(val, NULL, 10);
    else if (!strcmp(key, "--sizes"))
        return parse_sizes(o, val);
    else if (!strcmp(key, "--env") && o->nenv < MAX_ENV)
        o->env[o->nenv++] = val;
    else if (!strcmp(key, "--log"))
        o->log_path = val;
    else if (!strcmp(key, "--log-dir"))
        o->log_dir = val;
    else if (!strcmp(key, "--names"))
        o->names = val;
    else if (!strcmp(key, "--block"))
        o->block = (unsigned)strtoul(val, NULL, 10);
    else if (!strcmp(key, "--clean-pycache"))
        o->pycache_dir = val;
    else if (!strcmp(key, "--cpu-driver"))
        o->cpu_driver = atoi(val);
    else if (!strcmp(key, "--cpu-child"))
        o->cpu_child = atoi(val);
    else if (!strcmp(key, "--timeout-ms"))
        o->timeout_ms = (unsigned)strtoul(val, NULL, 10);
    else if (!strcmp(key, "--max-seconds"))
        o->max_seconds = (unsigned)strtoul(val, NULL, 10);
    else
        return -1;
    return 0;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
    *o = (struct opts){.mode = argv[1], .runs = 20, .invokes = 20000, .warmup = 1000,
                       .samples = 10, .block = 1000, .cpu_driver = -1, .cpu_child = -1,
                       .timeout_ms = 10000, .max_seconds = 900};
    if (!strcmp(o->mode, "echo"))
        o->warmup = 2;
    int i = 2;
    for (; i < argc && strcmp(argv[i], "--"); i += 2)
        if (i + 1 >= argc || parse_opt(o, argv[i], argv[i + 1]))
            return -1;
    if (i + 1 >= argc || o->runs == 0 || o->samples > 64)
        return -1;
    if (!strcmp(o->mode, "echo") && o->nsizes == 0) {
        char def[] = "1024:200,262144:50,6291456:20";
        parse_sizes(o, def);
    }
    o->argv = &argv[i + 1];
    return 0;
}

static int mode_event(const char *size_arg)
{
    struct buf b = {0};
    int rc = event_make(&b, strtoull(size_arg, NULL, 10));
    if (!rc && fwrite(b.p, 1, b.len, stdout) != b.len)
        rc = -EIO;
    buf_free(&b);
    return rc;
}

static void pin_self(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set))
        perror("driver: sched_setaffinity");
}

/* Splits the command line after "--" at "::" into one session per runtime. */
static int sessions_setup(struct opts *o, struct session *ss)
{
    char *save = NULL, *name = o->names ? strtok_r(o->names, ",", &save) : NULL;
    int n = 0;
    char **a = o->argv;
    while (*a && n < MAX_RUNTIMES) {
        struct session *s = &ss[n];
        s->o = o;
        s->argv = a;
        s->name = name ? name : "runtime";
        if (o->log_dir)
            snprintf(s->log_path, sizeof(s->log_path), "%s/%s.log", o->log_dir, s->name);
        else
            snprintf(s->log_path, sizeof(s->log_path), "%s", o->log_path ? o->log_path : "/dev/null");
        while (*a && strcmp(*a, "::"))
            a++;
        if (*a)
            *a++ = NULL; /* ends this runtime's argv */
        if (!s->argv[0])
            return -1;
        int rc = srv_open(&s->srv);
        if (rc) {
            fail(o->mode, "listen on 127.0.0.1", rc);
            return -1;
        }
        n++;
        name = o->names ? strtok_r(NULL, ",", &save) : NULL;
    }
    return *a ? -1 : n;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "event"))
        return mode_event(argv[2]) ? 1 : 0;
    static struct opts o;
    static struct session ss[MAX_RUNTIMES];
    int n = -1;
    if (argc >= 3 && parse_args(&o, argc, argv) == 0)
        n = sessions_setup(&o, ss);
    int multi_ok = !strcmp(o.mode, "warm") || !strcmp(o.mode, "echo");
    if (n < 1 || (n > 1 && !multi_ok)) {
        usage();
        return 2;
    }
    child_install_guard(o.max_seconds);
    pin_self(o.cpu_driver);
    int rc;
    if (!strcmp(o.mode, "cold"))
        rc = mode_cold(&ss[0]);
    else if (!strcmp(o.mode, "warm"))
        rc = mode_warm(ss, n);
    else if (!strcmp(o.mode, "echo"))
        rc = mode_echo(ss, n);
    else if (!strcmp(o.mode, "exit"))
        rc = mode_exit(&ss[0]);
    else
        rc = -EINVAL;
    for (int i = 0; i < n; i++)
        srv_close(&ss[i].srv);
    fflush(stdout);
    return rc ? 1 : 0;
}
