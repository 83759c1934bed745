/* Starting, watching and reaping the runtime under test.
 *
 * "Cold start" is timed from the moment just before execve() in the child,
 * not from fork(): the child reads the clock and sends it to the parent
 * through a close-on-exec pipe, so the driver's own fork cost is left out.
 * The same pipe reports an execve() failure. A pidfd lets the HTTP server
 * notice a dead child while it waits, and a SIGKILL'ing guard (parent-death
 * signal, atexit, SIGALRM/SIGINT/SIGTERM) makes sure no child outlives us. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t g_child = -1;

static void guard_kill(void)
{
    pid_t p = g_child;
    if (p > 0)
        kill(p, SIGKILL);
}

static void guard_signal(int sig)
{
    guard_kill();
    static const char msg[] = "driver: killed by signal or watchdog\n";
    ssize_t r = write(2, msg, sizeof(msg) - 1);
    (void)r;
    _exit(128 + sig);
}

void child_install_guard(unsigned max_seconds)
{
    atexit(guard_kill);
    struct sigaction sa = {.sa_handler = guard_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a runtime that hangs up mid-write is an error value, not a crash */
    alarm(max_seconds);       /* whole-run watchdog on top of per-wait deadlines */
}

/* Runs in the forked child; never returns. */
static void child_exec(const struct spawn_opts *o, int wfd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(126);
    if (o->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(o->cpu, &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    int in = open("/dev/null", O_RDONLY);
    int out = open(o->log_path ? o->log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
    close(in);
    close(out);
    uint64_t t = clock_ns();
    if (write(wfd, &t, sizeof(t)) != sizeof(t))
        _exit(126);
    execve(o->argv[0], o->argv, o->envp);
    int e = errno;
    if (write(wfd, &e, sizeof(e)) != sizeof(e))
        _exit(126);
    _exit(127);
}

static int read_full(int fd, void *p, size_t n, int timeout_ms)
{
    size_t got = 0;
    for (int i = 0; i < 1000 && got < n; i++) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, timeout_ms) <= 0)
            return -ETIMEDOUT;
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r == 0)
            return (int)got;
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r > 0)
            got += (size_t)r;
    }
    return (int)got;
}

int child_spawn(struct child *c, const struct spawn_opts *o)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC))
        return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        return -e;
    }
    if (pid == 0)
        child_exec(o, pfd[1], parent);
    g_child = pid;
    close(pfd[1]);
    c->pid = pid;
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    /* First the exec timestamp, then EOF (exec succeeded: the pipe closed
     * on exec) or an errno (exec failed). */
    int rc = read_full(pfd[0], &c->t_exec, sizeof(c->t_exec), 10000);
    int err = 0;
    int rc2 = rc == (int)sizeof(c->t_exec) ? read_full(pfd[0], &err, sizeof(err), 10000) : 0;
    close(pfd[0]);
    if (rc != (int)sizeof(c->t_exec) || rc2 != 0) {
        child_kill(c, NULL);
        return rc2 == (int)sizeof(err) ? -err : -ECHILD;
    }
    return c->pidfd < 0 ? -errno : 0;
}

static int child_reap(struct child *c, struct rusage *ru, int *status)
{
    struct rusage tmp;
    int st = 0;
    pid_t r;
    do
        r = wait4(c->pid, &st, 0, ru ? ru : &tmp);
    while (r < 0 && errno == EINTR);
    if (c->pidfd >= 0)
        close(c->pidfd);
    c->pidfd = -1;
    g_child = -1;
    c->pid = -1;
    if (status)
        *status = st;
    return r < 0 ? -errno : 0;
}

int child_kill(struct child *c, struct rusage *ru)
{
    if (c->pid <= 0)
        return -ECHILD;
    kill(c->pid, SIGKILL);
    return child_reap(c, ru, NULL);
}

int child_wait_exit(struct child *c, uint64_t deadline, struct rusage *ru,
                    int *status, uint64_t *t_exit)
{
    struct pollfd pf = {.fd = c->pidfd, .events = POLLIN};
    for (int i = 0; i < 1000; i++) {
        uint64_t now = clock_ns();
        if (now >= deadline)
            break;
        int pr = poll(&pf, 1, (int)((deadline - now) / 1000000 + 1));
        if (pr > 0) {
            *t_exit = clock_ns();
            return child_reap(c, ru, status);
        }
        if (pr < 0 && errno != EINTR)
            return -errno;
    }
    child_kill(c, NULL);
    return -ETIMEDOUT;
}

static long status_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

int proc_read_mem(pid_t pid, struct proc_mem *m)
{
    char path[64], text[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    text[n] = '\0';
    m->rss_kb = status_field(text, "\nVmRSS:");
    m->hwm_kb = status_field(text, "\nVmHWM:");
    m->anon_kb = status_field(text, "\nRssAnon:");
    m->file_kb = status_field(text, "\nRssFile:");
    return m->rss_kb < 0 ? -EIO : 0;
}

/* Time on CPU, from /proc/<pid>/task/<tid>/schedstat (nanoseconds, first
 * field), summed over threads. Unlike wall time it hardly moves when other
 * processes compete for the CPU, so it is the steadier number on a busy host. */
uint64_t proc_cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t total = 0;
    struct dirent *e;
    for (int i = 0; i < 4096 && (e = readdir(d)); i++) {
        if (e->d_name[0] == '.')
            continue;
        char file[320], text[128];
        snprintf(file, sizeof(file), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, text, sizeof(text) - 1);
        close(fd);
        if (n > 0) {
            text[n] = '\0';
            total += strtoull(text, NULL, 10);
        }
    }
    closedir(d);
    return total;
}

/* Removes DIR/__pycache__ so the next start has to compile the handler, as
 * on Lambda when the deployment ships no .pyc (and /var/task is read-only). */
int proc_clean_pycache(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/__pycache__", dir);
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    for (int i = 0; i < 10000 && (e = readdir(d)); i++)
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    return rmdir(path) ? -errno : 0;
}
