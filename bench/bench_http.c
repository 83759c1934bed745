/* A minimal HTTP/1.1 server on 127.0.0.1 for the Runtime API side of the
 * benchmark.
 *
 * It understands exactly what a runtime client sends: a request line,
 * headers, and a body framed by Content-Length or chunked encoding (answered
 * with 100 Continue when asked). It keeps several connections so a runtime
 * that reconnects still works, and counts them, because "one keep-alive
 * connection" is part of what we measure. Sockets are non-blocking and every
 * wait is a poll() bounded by the caller's deadline. */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define HDR_MAX (64 * 1024)
#define READ_CHUNK (256 * 1024)

int srv_open(struct srv *s)
{
    memset(s, 0, sizeof(*s));
    s->watch_fd = -1;
    for (int i = 0; i < SRV_MAX_CONN; i++)
        s->conns[i].fd = -1;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0)
        return -errno;
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only, never 0.0.0.0 */
    socklen_t len = sizeof(a);
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(s->lfd, 16) ||
        getsockname(s->lfd, (struct sockaddr *)&a, &len)) {
        int e = errno;
        close(s->lfd);
        return -e;
    }
    s->port = ntohs(a.sin_port);
    return 0;
}

static void conn_close(struct srv_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in.len = 0;
    c->body.len = 0;
    c->consumed = 0;
    c->sent_continue = 0;
    c->tag = 0;
}

void srv_close_conns(struct srv *s)
{
    for (int i = 0; i < SRV_MAX_CONN; i++)
        conn_close(&s->conns[i]);
}

void srv_close(struct srv *s)
{
    srv_close_conns(s);
    for (int i = 0; i < SRV_MAX_CONN; i++) {
        buf_free(&s->conns[i].in);
        buf_free(&s->conns[i].body);
    }
    if (s->lfd >= 0)
        close(s->lfd);
    s->lfd = -1;
}

static int ms_until(uint64_t deadline)
{
    uint64_t now = clock_ns();
    if (now >= deadline)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

/* Case-insensitive header lookup inside [hdr, end); returns the value start. */
static const char *hdr_find(const char *hdr, const char *end, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *line = hdr;
    while (line < end) {
        const char *eol = memmem(line, (size_t)(end - line), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            return v;
        }
        line = eol + 2;
    }
    return NULL;
}

/* Scans a chunked body starting at p. Returns the total framed length when
 * complete, 0 when more bytes are needed, -1 when malformed. With `out`, also
 * decodes the chunks into it (done once, when the body is complete, so a big
 * body arriving in many reads is not copied again on every read). */
static long chunked_scan(const char *p, size_t avail, struct buf *out)
{
    size_t pos = 0;
    if (out)
        out->len = 0;
    for (int guard = 0; guard < 1 << 22; guard++) {
        const char *eol = memmem(p + pos, avail - pos, "\r\n", 2);
        if (!eol)
            return 0;
        char *endp;
        unsigned long n = strtoul(p + pos, &endp, 16);
        if (endp == p + pos)
            return -1;
        pos = (size_t)(eol - p) + 2;
        if (n == 0) {
            /* Trailers end with an empty line. */
            const char *fin = memmem(p + pos, avail - pos, "\r\n\r\n", 4);
            if (avail - pos >= 2 && p[pos] == '\r' && p[pos + 1] == '\n')
                return (long)(pos + 2);
            return fin ? (long)((size_t)(fin - p) + 4) : 0;
        }
        if (avail - pos < n + 2)
            return 0;
        if (out && buf_append(out, p + pos, n))
            return -1;
        pos += n + 2;
    }
    return -1;
}

static int req_line_parse(const char *p, size_t len, struct http_req *r)
{
    const char *sp1 = memchr(p, ' ', len);
    if (!sp1)
        return -1;
    const char *sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - p));
    if (!sp2 || (size_t)(sp2 - sp1 - 1) >= sizeof(r->path))
        return -1;
    size_t ml = (size_t)(sp1 - p);
    r->method = (ml == 3 && !memcmp(p, "GET", 3))    ? HTTP_GET
                : (ml == 4 && !memcmp(p, "POST", 4)) ? HTTP_POST
                                                     : HTTP_OTHER;
    memcpy(r->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    r->path[sp2 - sp1 - 1] = '\0';
    return 0;
}

static int conn_send_continue(struct srv_conn *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    c->sent_continue = 1;
    /* 25 bytes into an empty socket buffer: a short write cannot happen. */
    return write(c->fd, msg, sizeof(msg) - 1) == (ssize_t)(sizeof(msg) - 1) ? 0 : -EIO;
}

/* 1: a complete request is at the head of c->in; 0: need more; -1: bad. */
static int conn_parse(struct srv_conn *c, struct http_req *r)
{
    const char *p = c->in.p;
    if (c->in.len == 0)
        return 0;
    const char *hend = memmem(p, c->in.len, "\r\n\r\n", 4);
    if (!hend)
        return c->in.len > HDR_MAX ? -1 : 0;
    const char *eol = memmem(p, c->in.len, "\r\n", 2);
    if (req_line_parse(p, (size_t)(eol - p), r))
        return -1;
    size_t hlen = (size_t)(hend - p) + 4;
    size_t vlen = 0;
    const char *te = hdr_find(eol + 2, hend + 2, "Transfer-Encoding", &vlen);
    int chunked = te && vlen >= 7 && memmem(te, vlen, "chunked", 7);
    const char *ex = hdr_find(eol + 2, hend + 2, "Expect", &vlen);
    int wants_continue = ex && vlen >= 12 && !strncasecmp(ex, "100-continue", 12);
    if (chunked) {
        long n = chunked_scan(p + hlen, c->in.len - hlen, NULL);
        if (n < 0)
            return -1;
        if (n == 0)
            return (wants_continue && !c->sent_continue) ? (conn_send_continue(c) ? -1 : 0) : 0;
        if (chunked_scan(p + hlen, c->in.len - hlen, &c->body) != n)
            return -1;
        r->body = c->body.p;
        r->body_len = c->body.len;
        c->consumed = hlen + (size_t)n;
        return 1;
    }
    const char *cl = hdr_find(eol + 2, hend + 2, "Content-Length", &vlen);
    size_t blen = cl ? strtoull(cl, NULL, 10) : 0;
    if (c->in.len < hlen + blen) {
        /* Reserve the whole body once instead of doubling through 6 MB. */
        if (buf_reserve(&c->in, hlen + blen - c->in.len + 1))
            return -1;
        if (wants_continue && !c->sent_continue && conn_send_continue(c))
            return -1;
        return 0;
    }
    r->body = p + hlen;
    r->body_len = blen;
    c->consumed = hlen + blen;
    return 1;
}

static void srv_accept(struct srv *s)
{
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (int i = 0; i < SRV_MAX_CONN; i++) {
        if (s->conns[i].fd < 0) {
            s->conns[i].fd = fd;
            s->accepted++;
            return;
        }
    }
    close(fd); /* more than SRV_MAX_CONN at once is a runtime bug; refuse it */
}

/* Reads what is available now; closes the connection on EOF or error. */
static void conn_fill(struct srv_conn *c)
{
    for (int i = 0; i < 64; i++) { /* bounded: 64 x 256 KB per wake-up */
        if (buf_reserve(&c->in, READ_CHUNK + 1)) {
            conn_close(c);
            return;
        }
        size_t room = c->in.cap - c->in.len - 1;
        ssize_t n = read(c->fd, c->in.p + c->in.len, room);
        if (n > 0) {
            c->in.len += (size_t)n;
            if ((size_t)n < room)
                return; /* drained the socket for now */
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        conn_close(c); /* EOF or hard error: the peer is gone */
        return;
    }
}

/* Returns 1 and fills r if some connection holds a complete request. */
static int srv_ready_request(struct srv *s, struct http_req *r)
{
    for (int i = 0; i < SRV_MAX_CONN; i++) {
        struct srv_conn *c = &s->conns[i];
        if (c->fd < 0)
            continue;
        memset(r, 0, sizeof(*r));
        int rc = conn_parse(c, r);
        if (rc < 0)
            return -EPROTO;
        if (rc > 0) {
            r->conn = i;
            r->t_complete = clock_ns();
            return 1;
        }
    }
    return 0;
}

int srv_wait_request(struct srv *s, struct http_req *r, uint64_t deadline)
{
    /* Bounded by the deadline; each pass blocks in poll() at most 60 s. */
    for (;;) {
        int rc = srv_ready_request(s, r);
        if (rc)
            return rc < 0 ? rc : 0;
        struct pollfd pf[SRV_MAX_CONN + 2];
        int idx[SRV_MAX_CONN];
        nfds_t n = 0;
        pf[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        pf[n++] = (struct pollfd){.fd = s->watch_fd, .events = POLLIN};
        for (int i = 0; i < SRV_MAX_CONN; i++) {
            if (s->conns[i].fd >= 0) {
                idx[n - 2] = i;
                pf[n++] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
            }
        }
        int timeout = ms_until(deadline);
        if (timeout == 0)
            return -ETIMEDOUT;
        int pr = poll(pf, n, timeout);
        if (pr < 0 && errno != EINTR)
            return -errno;
        if (pr <= 0)
            continue;
        for (nfds_t k = 2; k < n; k++)
            if (pf[k].revents)
                conn_fill(&s->conns[idx[k - 2]]);
        if (pf[0].revents & POLLIN)
            srv_accept(s);
        /* The child's exit is reported only once its last bytes are parsed. */
        if (pf[1].revents) {
            rc = srv_ready_request(s, r);
            return rc < 0 ? rc : rc == 0 ? -ECHILD : 0;
        }
    }
}

void srv_release(struct srv *s, const struct http_req *r)
{
    struct srv_conn *c = &s->conns[r->conn];
    if (c->fd < 0 || c->consumed > c->in.len)
        return;
    memmove(c->in.p, c->in.p + c->consumed, c->in.len - c->consumed);
    c->in.len -= c->consumed;
    c->consumed = 0;
    c->body.len = 0;
    c->sent_continue = 0;
}

static int fd_wait_writable(int fd, uint64_t deadline)
{
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    int timeout = ms_until(deadline);
    if (timeout == 0)
        return -ETIMEDOUT;
    int pr = poll(&pf, 1, timeout);
    if (pr < 0 && errno != EINTR)
        return -errno;
    if (pf.revents & (POLLERR | POLLHUP))
        return -EPIPE;
    return 0;
}

int srv_send(struct srv *s, int conn, const char *head, size_t head_len,
             const char *body, size_t body_len, uint64_t deadline)
{
    struct srv_conn *c = &s->conns[conn];
    struct iovec iov[2] = {{(void *)head, head_len}, {(void *)body, body_len}};
    int cnt = body_len ? 2 : 1;
    struct iovec *v = iov;
    /* Bounded by the deadline (fd_wait_writable fails once it passes). */
    while (cnt > 0) {
        if (c->fd < 0)
            return -EPIPE;
        ssize_t n = writev(c->fd, v, cnt);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (n < 0) {
            int rc = fd_wait_writable(c->fd, deadline);
            if (rc)
                return rc;
            continue;
        }
        size_t left = (size_t)n;
        while (cnt > 0 && left >= v->iov_len) {
            left -= v->iov_len;
            v++;
            cnt--;
        }
        if (cnt > 0) {
            v->iov_base = (char *)v->iov_base + left;
            v->iov_len -= left;
        }
    }
    return 0;
}
