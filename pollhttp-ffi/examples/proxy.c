/*
 * proxy.c — a reverse proxy in C99 on one epoll loop that never scans its connections.
 *
 * In front, clients speak HTTP/1.x or cleartext HTTP/2 (prior knowledge) on one port; behind,
 * requests go to one upstream over pooled HTTP/1.1 connections (an idle one is reused, a new
 * one opened when none is idle). Bodies stream both ways with backpressure and without an
 * allocation per chunk (pollhttp_stream_try_pass_body): a request body is passed upstream as
 * it arrives, the answer's body back to the client as it arrives, and a side with no room
 * stops the other from being read. An upstream that cannot be reached or fails before its
 * answer's head is a 502 (504 when its answer is late); one that fails after it is a reset
 * (HTTP/2) or a cut connection (HTTP/1). SIGINT or SIGTERM stops it gracefully.
 *
 *   cargo build --release -p pollhttp-ffi
 *   gcc -std=c99 -Wall -Wextra -O2 -Ipollhttp-ffi/include pollhttp-ffi/examples/proxy.c \
 *       target/release/libpollhttp.a -lpthread -ldl -lm -lrt -lutil -lgcc_s -o proxy
 *   ./proxy 127.0.0.1 8080 --upstream 127.0.0.1:8081
 *
 * Options (after ADDRESS PORT):
 *   --upstream HOST:PORT     where requests go (required; HOST a name or an address)
 *   --level | --edge         level-triggered epoll, each fd's interest changed as the watcher
 *                            tells it; or edge-triggered (the default), each fd registered once
 *                            for both directions
 *   --bodies pass | chunks   pass: pollhttp_stream_try_pass_body (the default); chunks: the
 *                            per-chunk calls (pollhttp_stream_try_get_next_chunk and
 *                            _try_write_chunk: an allocation and a copy per chunk), to compare
 *   --pool N                 idle upstream connections kept (default 256; 0: none reused)
 *   --max-clients N          client connections at once (default 1024; more wait in the backlog)
 *   --max-exchanges N        requests in flight at once (default 1024; more are answered 503)
 *   --upstream-timeout MS    the upstream's answer must start within MS of the request's end,
 *                            with no longer gap inside it (default 30000; 504 if late)
 *
 * The loop, as pollhttp.h's pollhttp_conn_set_watcher teaches it. Every connection has a
 * watcher; what it is told is all the loop knows:
 * - fd changes: the old fd leaves epoll (EPOLL_CTL_DEL; still open during the call), the new
 *   one comes in (edge-triggered: for both directions, once; level-triggered: for what the
 *   watcher says, changed with EPOLL_CTL_MOD when that changes);
 * - a deadline due now puts the connection on the ready list (once: a flag says it is there),
 *   a later one in a timer heap (lazy deletion: an entry that is not the connection's armed
 *   deadline is skipped);
 * - fd -1 and no deadline: the connection is finished; it is freed by the loop.
 * Each turn steps what the ready list held, the timers that fired and what epoll reported,
 * nothing else. A write to the upstream made while handling the client (or the other way
 * round) is a call on another connection: its watcher tells the loop, which is what makes
 * edge-triggered registration once enough.
 *
 * Hop by hop (RFC 9110 7.6.1): the fields named by Connection and Connection, Keep-Alive,
 * Proxy-Connection, TE, Transfer-Encoding, Upgrade and HTTP2-Settings are not forwarded in
 * either direction; Via is added both ways (RFC 9110 7.6.3) and X-Forwarded-For upstream.
 * Expect: 100-continue is answered by the proxy (100 Continue) and not forwarded. Requests
 * the proxy cannot serve: CONNECT is 501.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "pollhttp.h"

#define MAX_EVENTS 256
#define LISTENER_KEY UINT64_MAX
#define SIGNAL_KEY (UINT64_MAX - 1)
#define STOP_LIMIT_MS 10000 /* a graceful stop cuts off what is left after this */
#define NONE (-1)

/* ---- The record of what the watchers told -------------------------------------------------- */

enum role { FREE, FRONT, UPSTREAM };

struct proxy;

/* One connection's place. Places live in one array made at start (the watchers' userdata
 * points at them, so they never move); `gen` grows each time a place is given up, so that
 * news for a connection that is gone never reaches the one that took its place. */
struct slot {
    struct proxy *p;
    pollhttp_conn *conn;
    uint32_t gen;
    enum role role;
    int fd, events;              /* as the watcher was told last */
    int queued;                  /* on the ready list */
    int rdhup;                   /* level-triggered: the peer's close was seen, not asked again */
    int finished;                /* told fd -1 and no deadline */
    int64_t deadline, armed;     /* the last deadline told; the one in the timer heap (us) */
    int exchange;                /* FRONT: its first exchange (linked by .next_of_front);
                                    UPSTREAM: its exchange, or NONE when idle */
    int pool_prev, pool_next, in_pool; /* UPSTREAM: in the idle pool */
    char peer[48];               /* FRONT: the client's address, for X-Forwarded-For */
    int next_free;
};

struct timer { int64_t when; int slot; uint32_t gen; };

/* A body on its way from one stream to another in --bodies chunks: the chunk the destination
 * refused (written first when it has room), and whether the source's end is still to pass. */
struct held { uint8_t *data; size_t len; int end; };

/* One request on its way: the client's stream and the upstream's. */
struct exchange {
    int used;
    int front; uint32_t front_gen; uint64_t fs;
    int up; uint32_t up_gen; uint64_t us;  /* up NONE: not yet connected */
    int next_of_front;
    int started;         /* the request's head was taken and written upstream */
    int req_done;        /* its body passed to its end (or it had none) */
    int req_broken;      /* the upstream took no more of it (it may still answer) */
    int resp_head_sent, resp_done;
    int reused, retried; /* the upstream connection came from the pool; tried a fresh one */
    int idempotent;      /* RFC 9110 9.2.2: may be sent again when the first try got no answer */
    uint64_t req_moved;
    pollhttp_headers *request; /* the head written upstream, kept for one retry */
    struct held up_held, down_held;
    int next_free;
};

struct stats {
    unsigned long long accepted, upstream_opened, upstream_reused, retries;
    unsigned long long exchanges, failed, body_bytes;
    unsigned long long steps, turns, watch_calls;
};

struct proxy {
    int ep, edge, chunks;
    pollhttp_listener *listener;
    int accept_paused, stopping;
    int64_t stop_deadline;
    const char *up_host;
    uint16_t up_port;
    pollhttp_config *up_config;
    int pool_max, pool_len, pool_head; /* pool: most recently idle first */
    int max_clients, nfront;
    struct slot *slots;
    int nslots, free_slot;
    struct exchange *ex;
    int nex, free_ex;
    int *ready;         /* a ring of slot indices, each at most once (slot.queued) */
    int ready_head, ready_len;
    int *finished;      /* slots told the end, freed after the call that told it */
    int nfinished;
    struct timer *heap;
    int heap_len, heap_cap;
    struct stats st;
};

/* The monotonic clock in microseconds: finer than the watcher's milliseconds, so that a
 * deadline filed as now + timeout_ms is never before the connection's own (timeout_ms is
 * rounded up; a clock in whole milliseconds would round now down and wake the loop early). */
static int64_t now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static uint64_t key_of(const struct proxy *p, const struct slot *s) {
    return (uint64_t)(s - p->slots) | (uint64_t)s->gen << 32;
}

/* The slot at index i if it still holds the connection of generation gen. */
static struct slot *live(struct proxy *p, int i, uint32_t gen) {
    if (i < 0 || i >= p->nslots) return NULL;
    struct slot *s = &p->slots[i];
    return s->role != FREE && s->gen == gen ? s : NULL;
}

static void heap_push(struct proxy *p, struct timer t) {
    if (p->heap_len == p->heap_cap) {
        int cap = p->heap_cap ? p->heap_cap * 2 : 64;
        struct timer *h = realloc(p->heap, (size_t)cap * sizeof *h);
        if (!h) {
            fprintf(stderr, "proxy: out of memory for timers\n");
            abort();
        }
        p->heap = h;
        p->heap_cap = cap;
    }
    int i = p->heap_len++;
    while (i > 0 && p->heap[(i - 1) / 2].when > t.when) {
        p->heap[i] = p->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    p->heap[i] = t;
}

static struct timer heap_pop(struct proxy *p) {
    struct timer top = p->heap[0], last = p->heap[--p->heap_len];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= p->heap_len) break;
        if (c + 1 < p->heap_len && p->heap[c + 1].when < p->heap[c].when) c++;
        if (p->heap[c].when >= last.when) break;
        p->heap[i] = p->heap[c];
        i = c;
    }
    if (p->heap_len) p->heap[i] = last;
    return top;
}

static void enqueue(struct proxy *p, struct slot *s) {
    if (s->queued) return;
    s->queued = 1;
    p->ready[(p->ready_head + p->ready_len++) % p->nslots] = (int)(s - p->slots);
}

/* Level-triggered: fd's interest in epoll, events (POLLIN/POLLOUT: the same bits as EPOLLIN/
 * EPOLLOUT), and the peer's close until it was seen once (else it would be reported again and
 * again while the connection finishes its work). */
static void level_interest(struct proxy *p, struct slot *s, int fd, int events) {
    struct epoll_event ev = {.events = (uint32_t)events | (s->rdhup ? 0 : EPOLLRDHUP),
                             .data.u64 = key_of(p, s)};
    if (epoll_ctl(p->ep, EPOLL_CTL_MOD, fd, &ev) < 0) perror("proxy: epoll_ctl mod");
}

/* The watcher of every connection: files what it is told. */
static void on_watch(pollhttp_conn *conn, int fd, int old_fd, int events, int timeout_ms,
                     void *userdata) {
    struct slot *s = userdata;
    struct proxy *p = s->p;
    (void)conn;
    p->st.watch_calls++;
    if (fd != old_fd) {
        if (old_fd >= 0) epoll_ctl(p->ep, EPOLL_CTL_DEL, old_fd, NULL); /* still open now */
        if (fd >= 0) {
            struct epoll_event ev = {.data.u64 = key_of(p, s)};
            s->rdhup = 0;
            ev.events = p->edge ? EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET
                                : (uint32_t)events | EPOLLRDHUP; /* POLLIN/POLLOUT: same bits */
            if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) < 0) perror("proxy: epoll_ctl add");
        }
    } else if (!p->edge && fd >= 0 && events != s->events) {
        level_interest(p, s, fd, events);
    }
    s->fd = fd;
    s->events = events;
    if (timeout_ms == 0) {
        enqueue(p, s);
        s->deadline = NONE;
    } else if (timeout_ms > 0) {
        s->deadline = now_us() + (int64_t)timeout_ms * 1000;
        if (s->armed == NONE || s->deadline < s->armed) {
            s->armed = s->deadline;
            heap_push(p, (struct timer){s->deadline, (int)(s - p->slots), s->gen});
        }
    } else {
        s->deadline = NONE;
    }
    if (fd < 0 && timeout_ms < 0 && !s->finished) {
        s->finished = 1;
        p->finished[p->nfinished++] = (int)(s - p->slots);
    }
}

/* ---- Places ------------------------------------------------------------------------------ */

static struct slot *slot_new(struct proxy *p, pollhttp_conn *conn, enum role role) {
    if (p->free_slot == NONE) return NULL;
    struct slot *s = &p->slots[p->free_slot];
    p->free_slot = s->next_free;
    s->conn = conn;
    s->role = role;
    s->fd = -1;
    s->events = 0;
    s->finished = 0;
    s->deadline = s->armed = NONE;
    s->exchange = NONE;
    s->in_pool = 0;
    /* s->queued stays: an entry still on the ready list steps whoever holds the place. */
    if (role == FRONT) p->nfront++;
    pollhttp_conn_set_watcher(conn, on_watch, s); /* its first call registers the fd */
    return s;
}

static void accept_resume(struct proxy *p);

static void pool_unlink(struct proxy *p, struct slot *s) {
    if (!s->in_pool) return;
    if (s->pool_prev != NONE) p->slots[s->pool_prev].pool_next = s->pool_next;
    else p->pool_head = s->pool_next;
    if (s->pool_next != NONE) p->slots[s->pool_next].pool_prev = s->pool_prev;
    s->in_pool = 0;
    p->pool_len--;
}

/* Frees the connection at once (its fd leaves epoll as it closes) and gives up the place. */
static void slot_release(struct proxy *p, struct slot *s) {
    pool_unlink(p, s);
    pollhttp_conn_free(s->conn); /* tells the watcher nothing */
    s->conn = NULL;
    if (s->role == FRONT) p->nfront--;
    s->role = FREE;
    s->gen++;
    s->next_free = p->free_slot;
    p->free_slot = (int)(s - p->slots);
    if (p->accept_paused) accept_resume(p);
}

/* ---- Exchanges --------------------------------------------------------------------------- */

static void held_clear(struct held *h) {
    pollhttp_bytes_free(h->data, h->len);
    h->data = NULL;
    h->len = 0;
    h->end = 0;
}

static struct slot *front_of(struct proxy *p, struct exchange *x) {
    return live(p, x->front, x->front_gen);
}

static struct slot *up_of(struct proxy *p, struct exchange *x) {
    return x->up == NONE ? NULL : live(p, x->up, x->up_gen);
}

/* Gives up an upstream connection an exchange no longer needs: back to the pool when its
 * exchange ended cleanly, else cut (its watcher then tells the end; the loop frees it). */
static void up_detach(struct proxy *p, struct exchange *x, int clean) {
    struct slot *u = up_of(p, x);
    x->up = NONE;
    if (!u) return;
    u->exchange = NONE;
    if (u->finished) {
        slot_release(p, u);
    } else if (clean && !p->stopping && p->pool_len < p->pool_max &&
               pollhttp_conn_is_idle(u->conn) == 1 && pollhttp_conn_is_closed(u->conn) == 0) {
        u->in_pool = 1;
        u->pool_prev = NONE;
        u->pool_next = p->pool_head;
        if (p->pool_head != NONE) p->slots[p->pool_head].pool_prev = (int)(u - p->slots);
        p->pool_head = (int)(u - p->slots);
        p->pool_len++;
    } else {
        pollhttp_stream_reset(u->conn, x->us); /* an unfinished HTTP/1 message ends it */
        pollhttp_conn_shutdown(u->conn);
    }
}

/* Exchange i is over: its upstream connection goes back to the pool (ok) or is cut, and the
 * client's stream is forgotten. */
static void finish(struct proxy *p, int i, int ok) {
    struct exchange *x = &p->ex[i];
    if (!x->used) return;
    up_detach(p, x, ok && x->req_done && x->resp_done);
    struct slot *f = front_of(p, x);
    if (f) {
        for (int *at = &f->exchange; *at != NONE; at = &p->ex[*at].next_of_front) {
            if (*at == i) {
                *at = x->next_of_front;
                break;
            }
        }
    }
    held_clear(&x->up_held);
    held_clear(&x->down_held);
    pollhttp_headers_free(x->request);
    x->request = NULL;
    x->used = 0;
    x->next_free = p->free_ex;
    p->free_ex = i;
    if (!ok) p->st.failed++;
}

/* Answers the client's stream with status and a line of text, if its head is not out yet;
 * else resets it (HTTP/2: RST_STREAM; HTTP/1: the connection ends, the only way to say the
 * answer is broken). */
static void answer_error(pollhttp_conn *front, uint64_t fs, int head_sent, int status) {
    if (head_sent) {
        pollhttp_stream_reset(front, fs);
        return;
    }
    const char *text = status == 502   ? "502 Bad Gateway: the upstream failed or could not be reached\n"
                       : status == 503 ? "503 Service Unavailable: too many requests in flight\n"
                       : status == 504 ? "504 Gateway Timeout: the upstream did not answer in time\n"
                                       : "501 Not Implemented\n";
    pollhttp_headers *h = pollhttp_headers_new_response(status);
    pollhttp_headers_append(h, "content-type", "text/plain");
    if (pollhttp_stream_write_headers(front, fs, h, 0) == POLLHTTP_OK)
        pollhttp_stream_try_write_chunk(front, fs, (const uint8_t *)text, strlen(text), 1);
    pollhttp_headers_free(h);
}

/* Exchange i failed: the client gets status (or a reset once its head went out). */
static void fail(struct proxy *p, int i, int status) {
    struct exchange *x = &p->ex[i];
    struct slot *f = front_of(p, x);
    if (f) answer_error(f->conn, x->fs, x->resp_head_sent, status);
    finish(p, i, 0);
}

/* Whether name (n bytes; the library hands names out in lower case) is s. */
static int named(const char *name, size_t n, const char *s) {
    return strlen(s) == n && memcmp(name, s, n) == 0;
}

/* Whether the comma-separated list v (vn bytes: a Connection field's value) names name. */
static int listed(const char *v, size_t vn, const char *name, size_t n) {
    while (vn) {
        size_t t = 0;
        while (t < vn && v[t] != ',') t++;
        size_t a = 0, b = t;
        while (a < b && (v[a] == ' ' || v[a] == '\t')) a++;
        while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t')) b--;
        if (b - a == n && strncasecmp(v + a, name, n) == 0) return 1;
        v += t < vn ? t + 1 : t;
        vn -= t < vn ? t + 1 : t;
    }
    return 0;
}

/* Copies from's end-to-end fields to to, leaving out the pseudo-fields, the hop-by-hop ones
 * (RFC 9110's, and those a Connection field names) and, for a request (request != 0), Host
 * (it became :authority) and Expect (the proxy answers it). One walk over the fields, and one
 * more to find the Connection fields when there are any (the first 8 are honoured). */
static void copy_fields(pollhttp_headers *to, const pollhttp_headers *from, int request) {
    const char *name, *value, *conn[8]; /* the Connection fields' values */
    size_t n, vn, conn_len[8], nconn = 0;
    if (pollhttp_headers_get(from, "connection", NULL))
        for (size_t k = 0; pollhttp_headers_field(from, k, &name, &n, &value, &vn) == POLLHTTP_OK;
             k++)
            if (named(name, n, "connection") && nconn < 8) {
                conn[nconn] = value;
                conn_len[nconn++] = vn;
            }
    for (size_t k = 0; pollhttp_headers_field(from, k, &name, &n, &value, &vn) == POLLHTTP_OK;
         k++) {
        if (n == 0 || name[0] == ':') continue;
        int skip = 0;
        switch (n) { /* RFC 9110 7.6.1, and what HTTP/2 forbids (RFC 9113 8.2.2) */
        case 2: skip = named(name, n, "te"); break;
        case 4: skip = request && named(name, n, "host"); break;
        case 6: skip = request && named(name, n, "expect"); break;
        case 7: skip = named(name, n, "upgrade"); break;
        case 10: skip = named(name, n, "connection") || named(name, n, "keep-alive"); break;
        case 14: skip = named(name, n, "http2-settings"); break;
        case 16: skip = named(name, n, "proxy-connection"); break;
        case 17: skip = named(name, n, "transfer-encoding"); break;
        }
        for (size_t c = 0; c < nconn && !skip; c++) skip = listed(conn[c], conn_len[c], name, n);
        if (!skip) pollhttp_headers_append_n(to, name, n, value, vn, 0);
    }
}

static const char *via_of(int version) {
    return version == POLLHTTP_HTTP_2     ? "2 pollhttp-proxy"
           : version == POLLHTTP_HTTP_1_0 ? "1.0 pollhttp-proxy"
                                          : "1.1 pollhttp-proxy";
}

/* Puts exchange i on an upstream connection: an idle one from the pool, else (or with fresh)
 * a new one; writes the request's head on a new stream of it. 0 if none could be had. */
static int connect_upstream(struct proxy *p, int i, int fresh) {
    struct exchange *x = &p->ex[i];
    for (int tries = 0; tries <= p->pool_max; tries++) {
        struct slot *u = NULL;
        int reused = 0;
        if (!fresh && p->pool_head != NONE) {
            u = &p->slots[p->pool_head];
            pool_unlink(p, u);
            reused = 1;
        } else {
            pollhttp_conn *c = pollhttp_conn_client_ex(p->up_host, p->up_port, POLLHTTP_HTTP_1_1,
                                                       0, p->up_config, NULL);
            if (!c) {
                fprintf(stderr, "proxy: upstream: %s\n", pollhttp_last_error_message());
                return 0;
            }
            u = slot_new(p, c, UPSTREAM);
            if (!u) {
                pollhttp_conn_free(c);
                fprintf(stderr, "proxy: upstream: no room for another connection\n");
                return 0;
            }
            p->st.upstream_opened++;
        }
        uint64_t us;
        if (pollhttp_conn_new_stream(u->conn, &us) == POLLHTTP_OK &&
            pollhttp_stream_write_headers(u->conn, us, x->request, x->req_done) == POLLHTTP_OK) {
            u->exchange = i;
            x->up = (int)(u - p->slots);
            x->up_gen = u->gen;
            x->us = us;
            x->reused = reused;
            if (reused) p->st.upstream_reused++;
            return 1;
        }
        /* A pooled connection that closed meanwhile: cut it, try the next. */
        pollhttp_conn_shutdown(u->conn);
        if (!reused) return 0;
    }
    return 0;
}

/* Takes the client's request head and sends it upstream. 0 when the exchange cannot go on
 * now (no head yet) or is over (answered or failed). */
static int begin(struct proxy *p, int i) {
    struct exchange *x = &p->ex[i];
    struct slot *f = front_of(p, x);
    pollhttp_conn *front = f->conn;
    pollhttp_headers *h;
    int rc = pollhttp_stream_try_get_headers(front, x->fs, &h);
    if (rc == POLLHTTP_EAGAIN) return 0;
    if (rc != POLLHTTP_OK) {
        finish(p, i, 0); /* the client went away before its head was complete */
        return 0;
    }
    size_t mn, pn, an = 0;
    const char *method = pollhttp_headers_get(h, ":method", &mn);
    const char *path = pollhttp_headers_get(h, ":path", &pn);
    const char *authority = pollhttp_headers_get(h, ":authority", &an);
    if (!authority) authority = pollhttp_headers_get(h, "host", &an);
    int body = pollhttp_stream_body_follows(front, x->fs) == 1;
    if (!method || (mn == 7 && memcmp(method, "CONNECT", 7) == 0) || !path) {
        pollhttp_headers_free(h);
        answer_error(front, x->fs, 0, 501);
        finish(p, i, 0);
        return 0;
    }
    pollhttp_headers *req = pollhttp_headers_new_request_n(method, mn, path, pn, authority, an);
    copy_fields(req, h, 1);
    pollhttp_headers_append(req, "via", via_of(pollhttp_stream_peer_version(front, x->fs)));
    if (f->peer[0]) pollhttp_headers_append(req, "x-forwarded-for", f->peer);
    size_t en;
    const char *expect = pollhttp_headers_get(h, "expect", &en);
    if (body && expect && en == 12 && strncasecmp(expect, "100-continue", 12) == 0)
        pollhttp_stream_write_continue(front, x->fs); /* the proxy takes the body itself */
    static const char *const safe[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    for (size_t k = 0; k < sizeof safe / sizeof *safe; k++)
        x->idempotent |= strlen(safe[k]) == mn && memcmp(safe[k], method, mn) == 0;
    pollhttp_headers_free(h);
    x->request = req;
    x->req_done = !body;
    x->started = 1;
    if (!connect_upstream(p, i, 0)) {
        fail(p, i, 502);
        return 0;
    }
    return 1;
}

enum move { MOVED_ALL, BLOCKED, BROKEN };

/* Moves a body from stream (src, sid) to (dst, did) as far as it goes now. */
static enum move move_body(struct proxy *p, pollhttp_conn *src, uint64_t sid, pollhttp_conn *dst,
                           uint64_t did, struct held *held, uint64_t *moved_total) {
    if (!p->chunks) {
        for (;;) {
            size_t moved = 0;
            int rc = pollhttp_stream_try_pass_body(src, sid, dst, did, SIZE_MAX, &moved);
            p->st.body_bytes += moved;
            if (moved_total) *moved_total += moved;
            if (rc == POLLHTTP_OK) continue;
            return rc == POLLHTTP_END ? MOVED_ALL : rc == POLLHTTP_EAGAIN ? BLOCKED : BROKEN;
        }
    }
    for (;;) { /* --bodies chunks: a fresh allocation per chunk, copied again on write */
        if (held->end) {
            pollhttp_headers *trailers = NULL;
            int rc = pollhttp_stream_try_get_trailers(src, sid, &trailers);
            if (rc == POLLHTTP_OK) {
                rc = pollhttp_stream_write_headers(dst, did, trailers, 1);
                pollhttp_headers_free(trailers);
            } else {
                rc = pollhttp_stream_try_write_chunk(dst, did, NULL, 0, 1);
            }
            return rc == POLLHTTP_OK ? MOVED_ALL : rc == POLLHTTP_EAGAIN ? BLOCKED : BROKEN;
        }
        if (!held->data) {
            int rc = pollhttp_stream_try_get_next_chunk(src, sid, &held->data, &held->len);
            if (rc == POLLHTTP_END) {
                held->end = 1;
                continue;
            }
            if (rc != POLLHTTP_OK) return rc == POLLHTTP_EAGAIN ? BLOCKED : BROKEN;
        }
        int rc = pollhttp_stream_try_write_chunk(dst, did, held->data, held->len, 0);
        if (rc != POLLHTTP_OK) return rc == POLLHTTP_EAGAIN ? BLOCKED : BROKEN;
        p->st.body_bytes += held->len;
        if (moved_total) *moved_total += held->len;
        pollhttp_bytes_free(held->data, held->len);
        held->data = NULL;
    }
}

/* The upstream failed exchange i before the client had a head (code: the failing call's). A
 * connection from the pool may have been closed by the upstream as the request went out (an
 * idle keep-alive connection's race): when the upstream said the request was not processed,
 * or it closed without a byte of answer to an idempotent request, and no byte of the body
 * went, the request is tried once more on a fresh connection. Else the client gets 502, or
 * 504 for a late answer. */
static void upstream_failed(struct proxy *p, int i, int code) {
    struct exchange *x = &p->ex[i];
    int retryable = pollhttp_last_error_retryable() ||
                    (x->idempotent && (code == POLLHTTP_ECLOSED || code == POLLHTTP_EIO ||
                                       code == POLLHTTP_ETRUNCATED));
    fprintf(stderr, "proxy: upstream: %s\n", pollhttp_last_error_message());
    if (x->reused && !x->retried && retryable && x->req_moved == 0 && !x->up_held.data &&
        !x->resp_head_sent) {
        x->retried = 1;
        p->st.retries++;
        up_detach(p, x, 0);
        x->req_done = pollhttp_stream_body_follows(front_of(p, x)->conn, x->fs) != 1;
        if (connect_upstream(p, i, 1)) return;
    }
    fail(p, i, code == POLLHTTP_ETIMEDOUT ? 504 : 502);
}

/* Moves exchange i on as far as it goes now: the request's head and body upstream, the
 * answer's head and body back. Called when either side has news. */
static void pump(struct proxy *p, int i) {
    struct exchange *x = &p->ex[i];
    struct slot *f = front_of(p, x);
    if (!f) {
        finish(p, i, 0);
        return;
    }
    if (!x->started && !begin(p, i)) return;
    struct slot *u = up_of(p, x);
    if (!u) {
        fail(p, i, 502);
        return;
    }
    if (!x->req_done && !x->req_broken) {
        enum move m = move_body(p, f->conn, x->fs, u->conn, x->us, &x->up_held, &x->req_moved);
        if (m == MOVED_ALL) {
            x->req_done = 1;
        } else if (m == BROKEN) {
            if (pollhttp_stream_state(f->conn, x->fs) == POLLHTTP_STREAM_CLOSED ||
                pollhttp_conn_is_closed(f->conn)) {
                finish(p, i, 0); /* the client's body broke off: the upstream's is cut */
                return;
            }
            x->req_broken = 1; /* the upstream stopped taking it: its answer may say why */
        }
    }
    while (!x->resp_head_sent) {
        pollhttp_headers *h;
        int rc = pollhttp_stream_try_get_headers(u->conn, x->us, &h);
        if (rc == POLLHTTP_EAGAIN) return;
        if (rc != POLLHTTP_OK) {
            upstream_failed(p, i, rc);
            return;
        }
        int status = pollhttp_headers_status(h);
        if (status < 200) { /* 1xx: the proxy's own (100 Continue) went out already */
            pollhttp_headers_free(h);
            continue;
        }
        pollhttp_headers *resp = pollhttp_headers_new_response(status);
        copy_fields(resp, h, 0);
        pollhttp_headers_append(resp, "via", "1.1 pollhttp-proxy");
        pollhttp_headers_free(h);
        int end = pollhttp_stream_body_follows(u->conn, x->us) != 1;
        rc = pollhttp_stream_write_headers(f->conn, x->fs, resp, end);
        pollhttp_headers_free(resp);
        if (rc != POLLHTTP_OK) {
            finish(p, i, 0); /* the client's stream is gone */
            return;
        }
        x->resp_head_sent = 1;
        x->resp_done = end;
        pollhttp_headers_free(x->request);
        x->request = NULL;
    }
    if (!x->resp_done) {
        enum move m = move_body(p, u->conn, x->us, f->conn, x->fs, &x->down_held, NULL);
        if (m == BLOCKED) return;
        if (m == BROKEN) {
            fail(p, i, 502);
            return;
        }
        x->resp_done = 1;
    }
    if (!x->req_done) {
        /* Answered before the request's body was over: the rest is not wanted. */
        pollhttp_stream_reset(f->conn, x->fs);
    }
    p->st.exchanges++;
    finish(p, i, 1);
}

/* A client's new request: an exchange for it. */
static void start(struct proxy *p, struct slot *f, uint64_t fs) {
    if (p->free_ex == NONE) {
        answer_error(f->conn, fs, 0, 503);
        p->st.failed++;
        return;
    }
    int i = p->free_ex;
    struct exchange *x = &p->ex[i];
    p->free_ex = x->next_free;
    memset(x, 0, sizeof *x);
    x->used = 1;
    x->front = (int)(f - p->slots);
    x->front_gen = f->gen;
    x->fs = fs;
    x->up = NONE;
    x->next_of_front = f->exchange;
    f->exchange = i;
    pump(p, i);
}

/* ---- The loop ---------------------------------------------------------------------------- */

/* Steps one connection and does what its news asks. */
static void drive(struct proxy *p, struct slot *s, uint32_t revents) {
    if (revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        pollhttp_conn_hint_read_closed(s->conn);
        if (!p->edge && !s->rdhup && s->fd >= 0) {
            s->rdhup = 1;
            level_interest(p, s, s->fd, s->events);
        }
    }
    pollhttp_conn_step(s->conn); /* a failure shows in the streams and as the end */
    p->st.steps++;
    uint64_t id;
    if (s->role == FRONT) {
        while (!p->stopping && pollhttp_conn_try_next_incoming_stream(s->conn, &id) == POLLHTTP_OK)
            start(p, s, id);
        while (pollhttp_conn_try_next_ready_stream(s->conn, &id) == POLLHTTP_OK) {
            int i = s->exchange;
            while (i != NONE && p->ex[i].fs != id) i = p->ex[i].next_of_front;
            if (i != NONE) pump(p, i);
        }
    } else {
        while (pollhttp_conn_try_next_ready_stream(s->conn, &id) == POLLHTTP_OK) {
        }
        if (s->exchange != NONE) pump(p, s->exchange);
    }
}

/* Frees the connections whose watcher told the end: a client's at once (its exchanges are
 * cut), an upstream's once its exchange is over (what it received may still be on its way). */
static void reap(struct proxy *p) {
    while (p->nfinished) {
        struct slot *s = &p->slots[p->finished[--p->nfinished]];
        if (s->role == FREE || !s->finished) continue;
        if (s->role == FRONT) {
            while (s->exchange != NONE) finish(p, s->exchange, 0);
            slot_release(p, s);
        } else if (s->exchange != NONE) {
            pump(p, s->exchange); /* the rest of the answer, or the failure */
        } else {
            slot_release(p, s);
        }
    }
}

static void accept_all(struct proxy *p) {
    while (!p->stopping) {
        if (p->nfront >= p->max_clients || p->free_slot == NONE) {
            struct epoll_event ev = {.events = 0, .data.u64 = LISTENER_KEY};
            epoll_ctl(p->ep, EPOLL_CTL_MOD, pollhttp_listener_pollfd(p->listener), &ev);
            p->accept_paused = 1; /* the backlog holds the rest until a client leaves */
            return;
        }
        pollhttp_conn *c;
        int rc = pollhttp_listener_try_accept(p->listener, &c);
        if (rc == POLLHTTP_EAGAIN) return;
        if (rc != POLLHTTP_OK) {
            fprintf(stderr, "proxy: accept: %s\n", pollhttp_last_error_message());
            return;
        }
        struct slot *s = slot_new(p, c, FRONT);
        if (pollhttp_conn_peername(c, NULL, s->peer, sizeof s->peer, NULL) != POLLHTTP_OK)
            s->peer[0] = '\0'; /* asked once per connection */
        p->st.accepted++;
    }
}

static void accept_resume(struct proxy *p) {
    if (p->stopping || p->nfront >= p->max_clients) return;
    struct epoll_event ev = {.events = EPOLLIN | (p->edge ? EPOLLET : 0),
                             .data.u64 = LISTENER_KEY};
    epoll_ctl(p->ep, EPOLL_CTL_MOD, pollhttp_listener_pollfd(p->listener), &ev);
    p->accept_paused = 0;
    accept_all(p); /* edge-triggered: what came meanwhile made no new edge */
}

/* SIGINT or SIGTERM: no new clients or requests; the ones in flight finish (HTTP/1 with
 * Connection: close, HTTP/2 with GOAWAY); what is left after STOP_LIMIT_MS is cut off. The
 * one walk over every place, once. */
static void stop(struct proxy *p) {
    if (p->stopping) return;
    p->stopping = 1;
    p->stop_deadline = now_us() + (int64_t)STOP_LIMIT_MS * 1000;
    epoll_ctl(p->ep, EPOLL_CTL_DEL, pollhttp_listener_pollfd(p->listener), NULL);
    pollhttp_listener_close(p->listener);
    while (p->pool_head != NONE) {
        struct slot *u = &p->slots[p->pool_head];
        pool_unlink(p, u);
        pollhttp_conn_shutdown(u->conn);
    }
    for (int k = 0; k < p->nslots; k++)
        if (p->slots[k].role == FRONT) pollhttp_conn_shutdown(p->slots[k].conn);
}

/* Milliseconds from now until when (microseconds), rounded up, for epoll_wait. */
static int ms_until(int64_t when, int64_t now) {
    int64_t us = when - now;
    return us <= 0 ? 0 : (int)((us + 999) / 1000);
}

static void run(struct proxy *p, int sig) {
    struct epoll_event events[MAX_EVENTS];
    while (!p->stopping || p->nfront > 0) {
        p->st.turns++;
        /* What the watchers queued: connections due now (those queued meanwhile: next turn). */
        for (int n = p->ready_len; n > 0 && p->ready_len; n--) {
            struct slot *s = &p->slots[p->ready[p->ready_head]];
            p->ready_head = (p->ready_head + 1) % p->nslots;
            p->ready_len--;
            s->queued = 0;
            if (s->role != FREE) drive(p, s, 0);
            reap(p);
        }
        /* Deadlines that passed. */
        int64_t now = now_us();
        while (p->heap_len && p->heap[0].when <= now) {
            struct timer t = heap_pop(p);
            struct slot *s = live(p, t.slot, t.gen);
            if (!s || s->armed != t.when) continue; /* stale */
            s->armed = NONE;
            if (s->deadline == NONE) continue;
            if (s->deadline > now) { /* moved later: armed again */
                s->armed = s->deadline;
                heap_push(p, (struct timer){s->deadline, t.slot, t.gen});
                continue;
            }
            drive(p, s, 0);
            /* A step that changed nothing tells the watcher nothing: the deadline still stands
             * (a connection woken a little early), so it goes back in the heap. */
            if (s->role != FREE && s->gen == t.gen && s->armed == NONE && s->deadline != NONE) {
                s->armed = s->deadline > now ? s->deadline : now + 1000;
                heap_push(p, (struct timer){s->armed, t.slot, t.gen});
            }
            reap(p);
        }
        if (p->stopping && now >= p->stop_deadline) break;
        int wait = -1;
        if (p->ready_len) wait = 0;
        else if (p->heap_len) wait = ms_until(p->heap[0].when, now);
        if (p->stopping) {
            int left = ms_until(p->stop_deadline, now);
            if (wait < 0 || wait > left) wait = left;
        }
        int n = epoll_wait(p->ep, events, MAX_EVENTS, wait);
        if (n < 0 && errno != EINTR) {
            perror("proxy: epoll_wait");
            return;
        }
        for (int k = 0; k < n; k++) {
            uint64_t data = events[k].data.u64;
            if (data == LISTENER_KEY) {
                accept_all(p);
            } else if (data == SIGNAL_KEY) {
                struct signalfd_siginfo info;
                if (read(sig, &info, sizeof info) > 0) stop(p);
            } else {
                struct slot *s = live(p, (int)(data & 0xffffffffu), (uint32_t)(data >> 32));
                if (s) drive(p, s, events[k].events);
            }
            reap(p);
        }
    }
}

static void usage(void) {
    fprintf(stderr, "usage: proxy ADDRESS PORT --upstream HOST:PORT [--level | --edge] "
                    "[--bodies pass|chunks] [--pool N] [--max-clients N] [--max-exchanges N] "
                    "[--upstream-timeout MS]\n");
    exit(2);
}

static int number(const char *s, int min) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || v > 1000000) usage();
    return (int)v;
}

int main(int argc, char **argv) {
    if (argc < 3) usage();
    struct proxy p;
    memset(&p, 0, sizeof p);
    p.edge = 1;
    p.pool_max = 256;
    p.max_clients = 1024;
    p.nex = 1024;
    int up_timeout = 30000;
    char *upstream = NULL;
    for (int k = 3; k < argc; k++) {
        const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
        if (strcmp(a, "--level") == 0) p.edge = 0;
        else if (strcmp(a, "--edge") == 0) p.edge = 1;
        else if (!v) usage();
        else if (strcmp(a, "--upstream") == 0) upstream = argv[++k];
        else if (strcmp(a, "--bodies") == 0) {
            if (strcmp(v, "pass") != 0 && strcmp(v, "chunks") != 0) usage();
            p.chunks = strcmp(argv[++k], "chunks") == 0;
        } else if (strcmp(a, "--pool") == 0) p.pool_max = number(argv[++k], 0);
        else if (strcmp(a, "--max-clients") == 0) p.max_clients = number(argv[++k], 1);
        else if (strcmp(a, "--max-exchanges") == 0) p.nex = number(argv[++k], 1);
        else if (strcmp(a, "--upstream-timeout") == 0) up_timeout = number(argv[++k], 1);
        else usage();
    }
    char *colon = upstream ? strrchr(upstream, ':') : NULL;
    if (!colon) usage();
    *colon = '\0';
    p.up_host = upstream[0] == '[' ? upstream + 1 : upstream; /* [::1]:8081 */
    if (colon > upstream && colon[-1] == ']') colon[-1] = '\0';
    p.up_port = (uint16_t)number(colon + 1, 1);

    /* Clients: HTTP/2 streams per connection bounded (more wait for the client's turn). */
    pollhttp_config *front = pollhttp_config_new();
    pollhttp_config_set_http2_max_concurrent_streams(front, 128);
    /* The loop passes EPOLLRDHUP on (pollhttp_conn_hint_read_closed), so a short read may end
     * the reading in either mode: one read(2) less per readable event. */
    pollhttp_config_set_read_to_would_block(front, 0);
    p.up_config = pollhttp_config_new();
    pollhttp_config_set_connect_timeout(p.up_config, 5000);
    pollhttp_config_set_read_to_would_block(p.up_config, 0);
    pollhttp_config_set_response_timeout(p.up_config, up_timeout);
    pollhttp_config_set_response_read_timeout(p.up_config, up_timeout);
    p.listener = pollhttp_listener_bind_ex(argv[1], (uint16_t)number(argv[2], 0), front);
    pollhttp_config_free(front);
    if (!p.listener) {
        fprintf(stderr, "proxy: %s\n", pollhttp_last_error_message());
        return 1;
    }

    /* Every place: the clients, an upstream connection per exchange, the idle pool. */
    p.nslots = p.max_clients + p.nex + p.pool_max;
    p.slots = calloc((size_t)p.nslots, sizeof *p.slots);
    p.ready = calloc((size_t)p.nslots, sizeof *p.ready);
    /* A place is told the end once per connection; one given up and taken again before the
     * next reap can be there twice. */
    p.finished = calloc((size_t)p.nslots * 2, sizeof *p.finished);
    p.ex = calloc((size_t)p.nex, sizeof *p.ex);
    if (!p.slots || !p.ready || !p.finished || !p.ex) {
        fprintf(stderr, "proxy: out of memory\n");
        return 1;
    }
    for (int k = 0; k < p.nslots; k++) {
        p.slots[k].p = &p;
        p.slots[k].next_free = k + 1 < p.nslots ? k + 1 : NONE;
    }
    for (int k = 0; k < p.nex; k++) p.ex[k].next_free = k + 1 < p.nex ? k + 1 : NONE;
    p.free_slot = 0;
    p.free_ex = 0;
    p.pool_head = NONE;

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    int sig = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    p.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | (p.edge ? EPOLLET : 0), .data.u64 = LISTENER_KEY};
    epoll_ctl(p.ep, EPOLL_CTL_ADD, pollhttp_listener_pollfd(p.listener), &ev);
    ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = SIGNAL_KEY};
    epoll_ctl(p.ep, EPOLL_CTL_ADD, sig, &ev);

    char addr[64];
    int family;
    uint16_t port;
    pollhttp_listener_localname(p.listener, &family, addr, sizeof addr, &port);
    printf("proxy listening on http://%s:%u/, upstream %s:%u (%s-triggered, bodies %s)\n", addr,
           port, p.up_host, p.up_port, p.edge ? "edge" : "level", p.chunks ? "in chunks" : "passed");
    fflush(stdout);

    run(&p, sig);

    for (int k = 0; k < p.nex; k++)
        if (p.ex[k].used) finish(&p, k, 0);
    for (int k = 0; k < p.nslots; k++)
        if (p.slots[k].role != FREE) slot_release(&p, &p.slots[k]);
    printf("proxy: stopped; %llu clients, %llu upstream connections opened, %llu reused from "
           "the pool, %llu retried; %llu exchanges, %llu failed; %llu body bytes; %llu steps in "
           "%llu turns, %llu watcher calls\n",
           p.st.accepted, p.st.upstream_opened, p.st.upstream_reused, p.st.retries,
           p.st.exchanges, p.st.failed, p.st.body_bytes, p.st.steps, p.st.turns,
           p.st.watch_calls);
    pollhttp_listener_free(p.listener);
    pollhttp_config_free(p.up_config);
    free(p.slots);
    free(p.ready);
    free(p.finished);
    free(p.ex);
    free(p.heap);
    close(sig);
    close(p.ep);
    return 0;
}
