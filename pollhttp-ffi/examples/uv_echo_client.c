/*
 * uv_echo_client.c — pollhttp client connections in a libuv loop, told by their watchers
 * (pollhttp_conn_set_watcher) what to watch and when to step: a uv_poll_t for the fd and a
 * uv_timer_t for the deadline per connection, nothing scanned. COUNT connections to HOST:PORT
 * (a host name is resolved off the loop's thread: the fd changes from the resolver's pipe to
 * the socket, and the watcher moves the uv_poll_t) each POST SIZE bytes to PATH in chunks,
 * waiting for room when the send buffer is full, and check that the answer's body is the same
 * bytes (an echo server: pollhttp-ffi/examples/echo_server.c, examples/echo_server.rs). Odd
 * connections speak HTTP/2 (prior knowledge), even ones HTTP/1.1. Prints one line per
 * connection and exits 0 when every echo matched.
 *
 *   apt-get install libuv1-dev; cargo build --release -p pollhttp-ffi
 *   gcc -std=c99 -Wall -Wextra -O2 -Ipollhttp-ffi/include pollhttp-ffi/examples/uv_echo_client.c \
 *       target/release/libpollhttp.a -luv -lpthread -ldl -lm -lrt -lutil -lgcc_s -o uv_echo_client
 *   ./uv_echo_client localhost 8080 /echo 4 1048576
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <uv.h>

#include "pollhttp.h"

#define CHUNK 16384

typedef struct client {
    int index;
    pollhttp_conn *conn; /* NULL once closed */
    uv_poll_t *poll;     /* watches fd; NULL when no fd is watched (closed asynchronously) */
    uv_timer_t timer;    /* the connection's deadline */
    int events;          /* what poll watches for, as POLLIN/POLLOUT bits; -1: not started */
    uint64_t stream;
    size_t size, sent, got;
    int status, done, failed;
    unsigned watch_calls, fd_changes;
} client;

static uv_loop_t *loop;
static const char *path;

static uint8_t pattern(const client *c, size_t i) {
    return (uint8_t)(i * 7 + (size_t)c->index * 13 + i / 1000);
}

static void free_handle(uv_handle_t *h) { free(h); }

/* The watcher: what libuv watches follows what pollhttp says, as it changes. */
static void on_io(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);

static void on_watch(pollhttp_conn *conn, int fd, int old_fd, int events, int timeout_ms,
                     void *userdata) {
    client *c = userdata;
    (void)conn;
    c->watch_calls++;
    if (fd != old_fd && c->poll) {
        /* old_fd is still open here, as libuv wants it when a poll handle stops. */
        uv_poll_stop(c->poll);
        uv_close((uv_handle_t *)c->poll, free_handle);
        c->poll = NULL;
        if (old_fd >= 0) c->fd_changes++;
    }
    if (fd >= 0 && !c->poll) {
        c->poll = malloc(sizeof *c->poll);
        if (!c->poll || uv_poll_init(loop, c->poll, fd) != 0) {
            fprintf(stderr, "uv_echo_client: cannot watch fd %d\n", fd);
            exit(1);
        }
        c->poll->data = c;
        c->events = -1;
    }
    /* libuv polls level-triggered: exactly the events asked for, nothing when none. */
    if (c->poll && events != c->events) {
        int uv_events = ((events & POLLIN) ? UV_READABLE : 0) | ((events & POLLOUT) ? UV_WRITABLE : 0);
        if (uv_events) uv_poll_start(c->poll, uv_events, on_io);
        else uv_poll_stop(c->poll);
        c->events = events;
    }
    /* 0: due now, run in the loop's next iteration; -1: no deadline. */
    if (timeout_ms >= 0) uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
    else uv_timer_stop(&c->timer);
}

/* Writes the body as far as the send buffer takes it; the stream is named ready when there is
 * room again. */
static void send_body(client *c) {
    uint8_t buf[CHUNK];
    while (c->sent < c->size) {
        size_t n = c->size - c->sent < CHUNK ? c->size - c->sent : CHUNK;
        for (size_t i = 0; i < n; i++) buf[i] = pattern(c, c->sent + i);
        int rc = pollhttp_stream_try_write_chunk(c->conn, c->stream, buf, n, c->sent + n == c->size);
        if (rc == POLLHTTP_EAGAIN) return;
        if (rc != POLLHTTP_OK) {
            fprintf(stderr, "connection %d: write: %s\n", c->index, pollhttp_last_error_message());
            c->failed = 1;
            return;
        }
        c->sent += n;
    }
}

/* Reads what came of the answer and checks it against what was sent. */
static void read_answer(client *c) {
    if (!c->status) {
        pollhttp_headers *head;
        int rc = pollhttp_stream_try_get_headers(c->conn, c->stream, &head);
        if (rc == POLLHTTP_EAGAIN) return;
        if (rc != POLLHTTP_OK) { c->failed = 1; return; }
        c->status = pollhttp_headers_status(head);
        pollhttp_headers_free(head);
        if (c->status != 200) { c->failed = 1; return; }
    }
    for (;;) {
        uint8_t *data;
        size_t len;
        int rc = pollhttp_stream_try_get_next_chunk(c->conn, c->stream, &data, &len);
        if (rc == POLLHTTP_EAGAIN) return;
        if (rc == POLLHTTP_END) { c->done = c->got == c->size; c->failed |= !c->done; return; }
        if (rc != POLLHTTP_OK) {
            fprintf(stderr, "connection %d: read: %s\n", c->index, pollhttp_last_error_message());
            c->failed = 1;
            return;
        }
        for (size_t i = 0; i < len; i++)
            if (c->got + i >= c->size || data[i] != pattern(c, c->got + i)) c->failed = 1;
        c->got += len;
        pollhttp_bytes_free(data, len);
        if (c->failed) return;
    }
}

static void finish(client *c) {
    printf("connection %d: %s, status %d, %zu bytes sent, %zu echoed, %u watcher calls, "
           "%u fd changes\n", c->index, c->failed ? "FAILED" : "ok", c->status, c->sent, c->got,
           c->watch_calls, c->fd_changes);
    /* Tells the watcher the end (fd -1): it stops and closes the uv_poll_t. */
    pollhttp_conn_close_free(c->conn);
    c->conn = NULL;
    uv_close((uv_handle_t *)&c->timer, NULL);
}

/* One step, then what its news asks for. */
static void drive(client *c) {
    uint64_t id;
    if (!c->conn) return;
    pollhttp_conn_step(c->conn);
    while (pollhttp_conn_try_next_ready_stream(c->conn, &id) == POLLHTTP_OK) {
        if (id != c->stream) continue;
        send_body(c);
        read_answer(c);
    }
    if (!c->failed && !c->done && pollhttp_conn_is_closed(c->conn) == 1) c->failed = 1;
    if (c->done || c->failed) finish(c);
}

static void on_io(uv_poll_t *h, int status, int events) {
    client *c = h->data;
    (void)events;
    if (status < 0 && c->conn) pollhttp_conn_hint_read_closed(c->conn);
    drive(c);
}

/* libuv measures timers from its cached loop time, which can make one fire a little before
 * the connection's deadline: that step changes nothing and tells the watcher nothing, so the
 * timer is armed again from what the connection says now. */
static void on_timer(uv_timer_t *t) {
    client *c = t->data;
    unsigned told = c->watch_calls;
    drive(c);
    if (c->conn && c->watch_calls == told) {
        int left = pollhttp_conn_timeout(c->conn);
        if (left >= 0) uv_timer_start(&c->timer, on_timer, (uint64_t)(left ? left : 1), 0);
    }
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: uv_echo_client HOST PORT PATH COUNT SIZE\n");
        return 2;
    }
    const char *host = argv[1];
    uint16_t port = (uint16_t)atoi(argv[2]);
    path = argv[3];
    int count = atoi(argv[4]);
    size_t size = (size_t)strtoull(argv[5], NULL, 10);
    loop = uv_default_loop();
    client *clients = calloc((size_t)count, sizeof *clients);
    char authority[300], length[32];
    snprintf(authority, sizeof authority, "%s:%u", host, (unsigned)port);
    snprintf(length, sizeof length, "%zu", size);
    for (int i = 0; i < count; i++) {
        client *c = &clients[i];
        c->index = i;
        c->size = size;
        uv_timer_init(loop, &c->timer);
        c->timer.data = c;
        int h2 = i % 2;
        c->conn = pollhttp_conn_client_ex(host, port, h2 ? 20 : 11,
                                          h2 ? POLLHTTP_CLIENT_H2_PRIOR_KNOWLEDGE : 0, NULL, NULL);
        if (!c->conn) {
            fprintf(stderr, "uv_echo_client: %s\n", pollhttp_last_error_message());
            return 1;
        }
        /* Registers at once (the first call), then follows every change. */
        pollhttp_conn_set_watcher(c->conn, on_watch, c);
        /* The request goes out once connected; its body as far as the buffer takes it. */
        pollhttp_headers *req = pollhttp_headers_new_request("POST", path, authority);
        pollhttp_headers_append(req, "content-length", length);
        if (pollhttp_conn_new_stream(c->conn, &c->stream) != POLLHTTP_OK ||
            pollhttp_stream_write_headers(c->conn, c->stream, req, 0) != POLLHTTP_OK) {
            fprintf(stderr, "uv_echo_client: %s\n", pollhttp_last_error_message());
            return 1;
        }
        pollhttp_headers_free(req);
        send_body(c);
    }
    uv_run(loop, UV_RUN_DEFAULT); /* until every connection is finished and its handles closed */
    int failed = 0;
    for (int i = 0; i < count; i++) failed |= clients[i].failed || !clients[i].done;
    free(clients);
    uv_loop_close(loop);
    printf("%s\n", failed ? "some echoes FAILED" : "all echoes matched");
    return failed;
}
