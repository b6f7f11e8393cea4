/*
 * echo_server.c — the echo server of examples/epoll_echo_server.rs in plain C99 over epoll,
 * through pollhttp's C ABI: GET and HEAD answer "hello\n"; a request with a body is answered
 * with the same body. HTTP/1.0, HTTP/1.1 (keep-alive, pipelining, chunked bodies) and, where
 * the library speaks it, HTTP/2 over cleartext on the same port: the stream calls are the same.
 *
 *   cargo build --release -p pollhttp-ffi
 *   gcc -std=c99 -Wall -Wextra -O2 -Ipollhttp-ffi/include pollhttp-ffi/examples/echo_server.c \
 *       target/release/libpollhttp.a -lpthread -ldl -lm -lrt -lutil -lgcc_s -o echo_server
 *   ./echo_server 127.0.0.1 8080          (port 0: any free port; the line printed says which)
 *   ./echo_server 127.0.0.1 8443 --tls cert.pem key.pem
 *
 * With --tls CERT KEY (PEM files: the certificate chain, leaf first, and its private key) it
 * serves https instead: each connection does the TLS handshake in its first steps, through the
 * same loop (the pollfd stays the same, events() says what the handshake waits for), and ALPN
 * picks HTTP/2 (h2) or HTTP/1.1 per connection. The stream calls do not change.
 *
 * SIGINT or SIGTERM stops it gracefully: no new connections, requests in flight are answered
 * (with Connection: close), idle connections close, and the process exits 0 once every
 * connection is gone (the library cuts off what is left at its shutdown deadline).
 *
 * The loop, as docs/embedding.md describes it:
 * - every connection's pollfd() is registered level-triggered for exactly events() (converted
 *   from POLLIN/POLLOUT to EPOLLIN/EPOLLOUT), and re-armed with EPOLL_CTL_MOD only when
 *   events() changed after the connection was driven;
 * - each connection's timeout() becomes an absolute deadline; the loop sleeps until the
 *   earliest and steps the connections whose deadline passed. A linear scan keeps the example
 *   short: a server with many thousands of connections keeps the deadlines in a heap
 *   (examples/epoll_echo_server.rs) or a timer wheel;
 * - an epoll event carries slot | generation << 32, so an event still queued for a connection
 *   that closed in the same batch is not delivered to the one that took its slot;
 * - SIGINT and SIGTERM arrive through a signalfd in the same epoll set: no race between a
 *   signal and the wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pollhttp.h"

#define MAX_EVENTS 256
/* Steps of one connection in a row while its timeout() says more work is due now. */
#define STEPS_PER_DRIVE 16
/* Connections accepted per listener wake-up (the listener is level-triggered: more wake it
 * again), so that a flood of connects cannot starve the connections already open. */
#define ACCEPTS_PER_WAKE 64
#define TAG_LISTENER UINT64_MAX
#define TAG_SIGNAL (UINT64_MAX - 1)

struct request {
    uint64_t id;
    int is_head;
    int got_head;
    /* The head is written; the body goes out as the send buffer takes it. */
    int answering;
    unsigned char *body;
    size_t len, cap;
    size_t sent; /* bytes of the answer's body written so far */
    struct request *next;
};

struct client {
    pollhttp_conn *conn;
    int fd;
    uint32_t armed;
    /* Absolute deadline in microseconds of CLOCK_MONOTONIC, or -1. */
    int64_t deadline_us;
    struct request *reqs;
};

static int ep = -1;
static struct client *clients; /* by slot; conn == NULL for a free slot */
static uint32_t *gens;         /* generation of each slot, bumped when a connection leaves */
static size_t nslots;
static size_t live;
static int stopping;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what)
{
    fprintf(stderr, "echo_server: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Prints lua-http's (nil, message, errno) of the last failed pollhttp call. */
static void report(const char *what)
{
    int e = pollhttp_last_errno();
    fprintf(stderr, "echo_server: %s: %s (%s%s%s)\n", what, pollhttp_last_error_message(),
            pollhttp_strerror(pollhttp_last_error_code()), e ? ", " : "", e ? strerror(e) : "");
}

static uint32_t to_epoll(int poll_events)
{
    return (poll_events & POLLIN ? EPOLLIN : 0) | (poll_events & POLLOUT ? EPOLLOUT : 0);
}

static int ctl(int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(ep, op, fd, &ev);
}

static uint64_t tag(size_t slot)
{
    return (uint64_t)slot | (uint64_t)gens[slot] << 32;
}

/* ---- Requests ---------------------------------------------------------------------------- */

static struct request *find(struct client *c, uint64_t id)
{
    struct request *r;
    for (r = c->reqs; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

static void drop_request(struct client *c, struct request *r)
{
    struct request **p;
    for (p = &c->reqs; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    free(r->body);
    free(r);
}

/* Makes room for at least `more` bytes after the body read so far. */
static int reserve(struct request *r, size_t more)
{
    if (r->len + more > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        unsigned char *b;
        while (cap < r->len + more)
            cap *= 2;
        b = realloc(r->body, cap);
        if (!b)
            return -1;
        r->body = b;
        r->cap = cap;
    }
    return 0;
}

/* A request that failed (the client went away mid-body, say) is reset, not just forgotten:
 * an HTTP/1 connection cannot skip an unanswered request, so the library ends it. */
static void give_up(struct client *c, struct request *r)
{
    pollhttp_stream_reset(c->conn, r->id);
    drop_request(c, r);
}

/* Writes the answer's body as the send buffer takes it, as write(2) would (the rest stays in
 * the request's buffer: nothing is copied or allocated for it); keeps the request until all of
 * it, and the end, are written. */
static void write_body(struct client *c, struct request *r)
{
    static const unsigned char hello[] = "hello\n";
    const unsigned char *body = r->len ? r->body : hello;
    size_t len = r->len ? r->len : sizeof hello - 1;
    int rc;
    if (r->is_head)
        len = 0;
    for (;;) {
        size_t written = 0;
        rc = pollhttp_stream_try_write(c->conn, r->id, body + r->sent, len - r->sent, 1,
                                       &written);
        if (rc == POLLHTTP_EAGAIN)
            return; /* try_next_ready_stream names the stream again once there is room */
        if (rc != POLLHTTP_OK)
            break;
        r->sent += written;
        if (r->sent == len)
            break; /* all of it, and the end with it */
    }
    drop_request(c, r);
}

/* Answers stream id once its request is complete: the body echoed, or "hello\n". */
static void serve(struct client *c, uint64_t id)
{
    struct request *r = find(c, id);
    pollhttp_headers *res;
    char length[32];
    int rc;
    if (!r)
        return;
    if (r->answering) {
        write_body(c, r);
        return;
    }
    if (!r->got_head) {
        pollhttp_headers *h = NULL;
        const char *method;
        size_t mlen = 0;
        rc = pollhttp_stream_try_get_headers(c->conn, id, &h);
        if (rc == POLLHTTP_EAGAIN)
            return;
        if (rc != POLLHTTP_OK) {
            give_up(c, r);
            return;
        }
        method = pollhttp_headers_get(h, ":method", &mlen);
        r->is_head = method && mlen == 4 && memcmp(method, "HEAD", 4) == 0;
        r->got_head = 1;
        pollhttp_headers_free(h);
    }
    /* The body is read straight into the request's buffer: no allocation per piece. */
    for (;;) {
        size_t n = 0;
        if (reserve(r, 16384) < 0) {
            give_up(c, r);
            return;
        }
        rc = pollhttp_stream_try_read_body(c->conn, id, r->body + r->len, r->cap - r->len, &n);
        if (rc == POLLHTTP_OK) {
            r->len += n;
            continue;
        }
        if (rc == POLLHTTP_END)
            break;
        if (rc != POLLHTTP_EAGAIN)
            give_up(c, r);
        return;
    }
    res = pollhttp_headers_new_response(200);
    snprintf(length, sizeof length, "%zu", r->len ? r->len : (size_t)6);
    if (!res || pollhttp_headers_append(res, "content-type", "text/plain") != POLLHTTP_OK ||
        pollhttp_headers_append(res, "content-length", length) != POLLHTTP_OK ||
        pollhttp_stream_write_headers(c->conn, id, res, 0) != POLLHTTP_OK) {
        pollhttp_headers_free(res);
        give_up(c, r);
        return;
    }
    pollhttp_headers_free(res);
    r->answering = 1;
    write_body(c, r);
}

/* ---- Connections ------------------------------------------------------------------------- */

/* Takes a connection out of epoll, frees it and its requests, and frees its slot. */
static void remove_client(size_t slot)
{
    struct client *c = &clients[slot];
    while (c->reqs)
        drop_request(c, c->reqs);
    /* A closed connection's fd is gone already (and with it the registration). */
    if (!pollhttp_conn_is_closed(c->conn))
        ctl(EPOLL_CTL_DEL, c->fd, 0, 0);
    pollhttp_conn_free(c->conn);
    c->conn = NULL;
    gens[slot]++;
    live--;
}

/* Steps one connection and answers what it has until no work is due right now; then re-arms
 * it and notes its next deadline. */
static void drive(size_t slot, uint32_t revents)
{
    struct client *c = &clients[slot];
    uint32_t want;
    uint64_t id;
    int i, t;
    for (i = 0; i < STEPS_PER_DRIVE; i++) {
        /* A failure shows as the closed connection (and in its streams). */
        pollhttp_conn_step(c->conn);
        while (pollhttp_conn_try_next_incoming_stream(c->conn, &id) == POLLHTTP_OK) {
            struct request *r = calloc(1, sizeof *r);
            if (!r) {
                pollhttp_stream_reset(c->conn, id);
                continue;
            }
            r->id = id;
            r->next = c->reqs;
            c->reqs = r;
        }
        while (pollhttp_conn_try_next_ready_stream(c->conn, &id) == POLLHTTP_OK)
            serve(c, id);
        if (pollhttp_conn_is_closed(c->conn)) {
            remove_client(slot);
            return;
        }
        if (pollhttp_conn_timeout(c->conn) != 0)
            break;
    }
    want = to_epoll(pollhttp_conn_events(c->conn));
    if (want == 0 && (revents & (EPOLLHUP | EPOLLERR))) {
        /* epoll reports hang-ups even to an fd armed for nothing; a connection that wants
         * nothing more from such a socket would be woken forever. */
        remove_client(slot);
        return;
    }
    if (want != c->armed) {
        if (ctl(EPOLL_CTL_MOD, c->fd, want, tag(slot)) < 0) {
            fprintf(stderr, "echo_server: epoll_ctl mod: %s\n", strerror(errno));
            remove_client(slot);
            return;
        }
        c->armed = want;
    }
    t = pollhttp_conn_timeout(c->conn);
    c->deadline_us = t < 0 ? -1 : now_us() + (int64_t)t * 1000;
}

static size_t take_slot(void)
{
    size_t slot, n;
    for (slot = 0; slot < nslots; slot++)
        if (!clients[slot].conn)
            return slot;
    n = nslots ? nslots * 2 : 64;
    clients = realloc(clients, n * sizeof *clients);
    gens = realloc(gens, n * sizeof *gens);
    if (!clients || !gens)
        die("out of memory");
    memset(clients + nslots, 0, (n - nslots) * sizeof *clients);
    memset(gens + nslots, 0, (n - nslots) * sizeof *gens);
    slot = nslots;
    nslots = n;
    return slot;
}

static void accept_some(pollhttp_listener *listener)
{
    int i;
    for (i = 0; i < ACCEPTS_PER_WAKE; i++) {
        pollhttp_conn *conn = NULL;
        size_t slot;
        struct client *c;
        int rc = pollhttp_listener_try_accept(listener, &conn);
        if (rc == POLLHTTP_EAGAIN)
            return;
        if (rc != POLLHTTP_OK) {
            /* E.g. out of fds: say so, and let the next wake-up try again. */
            report("accept");
            return;
        }
        slot = take_slot();
        c = &clients[slot];
        c->conn = conn;
        c->fd = pollhttp_conn_pollfd(conn);
        c->armed = to_epoll(pollhttp_conn_events(conn));
        c->deadline_us = -1;
        c->reqs = NULL;
        if (ctl(EPOLL_CTL_ADD, c->fd, c->armed, tag(slot)) < 0) {
            fprintf(stderr, "echo_server: epoll_ctl add: %s\n", strerror(errno));
            pollhttp_conn_free(conn);
            c->conn = NULL;
            continue;
        }
        live++;
        /* Bytes may be waiting already; the first step also sets the first deadline. */
        drive(slot, 0);
    }
}

/* Graceful stop: no new connections; every connection finishes what is in flight. */
static void begin_stop(pollhttp_listener *listener)
{
    size_t slot;
    printf("echo_server: stopping\n");
    fflush(stdout);
    stopping = 1;
    ctl(EPOLL_CTL_DEL, pollhttp_listener_pollfd(listener), 0, 0);
    pollhttp_listener_close(listener);
    for (slot = 0; slot < nslots; slot++) {
        if (clients[slot].conn) {
            pollhttp_conn_shutdown(clients[slot].conn);
            drive(slot, 0);
        }
    }
}

/* Steps the connections whose deadline has come; returns the wait until the next one in
 * milliseconds (rounded up), or -1. */
static int fire_deadlines(void)
{
    int64_t now = now_us(), next = -1;
    size_t slot;
    for (slot = 0; slot < nslots; slot++) {
        struct client *c = &clients[slot];
        if (!c->conn || c->deadline_us < 0)
            continue;
        if (c->deadline_us <= now) {
            drive(slot, 0);
            if (!c->conn || c->deadline_us < 0)
                continue;
        }
        if (next < 0 || c->deadline_us < next)
            next = c->deadline_us;
    }
    if (next < 0)
        return -1;
    now = now_us();
    if (next <= now)
        return 0;
    return (int)((next - now + 999) / 1000);
}

int main(int argc, char **argv)
{
    struct epoll_event events[MAX_EVENTS];
    pollhttp_listener *listener;
    char *end = NULL;
    long port;
    char addr[128];
    uint16_t bound_port = 0;
    int family = 0, sfd, tls = 0;
    sigset_t mask;

    if (argc == 6 && strcmp(argv[3], "--tls") == 0) {
        tls = 1;
    } else if (argc != 3) {
        fprintf(stderr, "usage: echo_server ADDR PORT [--tls CERT KEY]\n");
        return 2;
    }
    errno = 0;
    port = strtol(argv[2], &end, 10);
    if (errno || !*argv[2] || *end || port < 0 || port > 65535) {
        fprintf(stderr, "echo_server: bad port '%s'\n", argv[2]);
        return 2;
    }
    listener = pollhttp_listener_bind(argv[1], (uint16_t)port);
    if (!listener) {
        report("listen");
        return 1;
    }
    if (tls) {
        /* The listener keeps its own copy of the settings: free ours at once. */
        pollhttp_tls_server *settings = pollhttp_tls_server_new_pem(argv[4], argv[5]);
        int rc = pollhttp_last_error_code();
        if (settings)
            rc = pollhttp_listener_set_tls(listener, settings);
        pollhttp_tls_server_free(settings);
        if (rc != POLLHTTP_OK) {
            report("tls");
            pollhttp_listener_free(listener);
            return 1;
        }
    }
    if (pollhttp_listener_localname(listener, &family, addr, sizeof addr, &bound_port) !=
        POLLHTTP_OK) {
        report("localname");
        return 1;
    }
    printf(family == AF_INET6 ? "echo_server listening on %s://[%s]:%u/\n"
                              : "echo_server listening on %s://%s:%u/\n",
           tls ? "https" : "http", addr, (unsigned)bound_port);
    fflush(stdout);

    /* SIGINT and SIGTERM are blocked and read from a signalfd in the epoll set. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        die("sigprocmask");
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        die("signalfd");
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    if (ctl(EPOLL_CTL_ADD, sfd, EPOLLIN, TAG_SIGNAL) < 0 ||
        ctl(EPOLL_CTL_ADD, pollhttp_listener_pollfd(listener),
            to_epoll(pollhttp_listener_events(listener)), TAG_LISTENER) < 0)
        die("epoll_ctl add");

    while (!(stopping && live == 0)) {
        int wait = fire_deadlines(), n, i;
        if (stopping && live == 0)
            break;
        n = epoll_wait(ep, events, MAX_EVENTS, wait);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (i = 0; i < n; i++) {
            uint64_t data = events[i].data.u64;
            size_t slot;
            if (data == TAG_LISTENER) {
                if (!stopping)
                    accept_some(listener);
            } else if (data == TAG_SIGNAL) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                    if (!stopping)
                        begin_stop(listener);
            } else {
                slot = (size_t)(data & 0xffffffffu);
                if (slot < nslots && clients[slot].conn && gens[slot] == (uint32_t)(data >> 32))
                    drive(slot, events[i].events);
            }
        }
    }

    pollhttp_listener_free(listener);
    free(clients);
    free(gens);
    close(ep);
    close(sfd);
    printf("echo_server: stopped\n");
    return 0;
}
