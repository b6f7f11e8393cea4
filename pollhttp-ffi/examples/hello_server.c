/*
 * hello_server.c — examples/hello_server.rs in C99: a pollhttp_server nested in one epoll,
 * its fd registered once, edge-triggered. GET /hello answers JSON, POST /echo answers with the
 * body (up to 1 MiB; 413 beyond), anything else is 404. HTTP/1.x and cleartext HTTP/2 (prior
 * knowledge or Upgrade: h2c) on one port. SIGINT or SIGTERM stops it gracefully.
 *
 *   cargo build --release -p pollhttp-ffi
 *   gcc -std=c99 -Wall -Wextra -O2 -Ipollhttp-ffi/include pollhttp-ffi/examples/hello_server.c \
 *       target/release/libpollhttp.a -lpthread -ldl -lm -lrt -lutil -lgcc_s -o hello_server
 *   ./hello_server 127.0.0.1 8080
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "pollhttp.h"

/* Whether the field `name` of h is `want` (values are not NUL-terminated). */
static int is(const pollhttp_headers *h, const char *name, const char *want) {
    size_t n;
    const char *v = pollhttp_headers_get(h, name, &n);
    return v && n == strlen(want) && memcmp(v, want, n) == 0;
}

static void serve(pollhttp_server *s, uint64_t req) {
    const pollhttp_headers *h;
    if (pollhttp_request_headers(s, req, &h) != POLLHTTP_OK) return;
    if (is(h, ":path", "/hello")) {
        static const char body[] = "{\"hello\":\"world\"}\n";
        pollhttp_headers *json = pollhttp_headers_new();
        pollhttp_headers_append(json, "content-type", "application/json");
        pollhttp_request_respond(s, req, 200, json, (const uint8_t *)body, sizeof body - 1);
        pollhttp_headers_free(json);
    } else if (is(h, ":method", "POST") && is(h, ":path", "/echo")) {
        uint8_t *data;
        size_t len;
        int rc = pollhttp_request_try_body(s, req, 1 << 20, &data, &len);
        if (rc == POLLHTTP_OK) {
            pollhttp_request_respond(s, req, 200, NULL, data, len);
            pollhttp_bytes_free(data, len);
        } else if (rc != POLLHTTP_EAGAIN && rc != POLLHTTP_END) { /* EAGAIN: handed out again */
            int status = pollhttp_last_error_status();
            pollhttp_request_respond(s, req, status ? status : 400, NULL, NULL, 0);
        }
    } else {
        pollhttp_request_respond(s, req, 404, NULL, NULL, 0);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: hello_server ADDRESS PORT\n");
        return 2;
    }
    pollhttp_server *s = pollhttp_server_new(NULL);
    uint16_t port;
    if (!s || pollhttp_server_listen(s, argv[1], (uint16_t)atoi(argv[2]), &port) != POLLHTTP_OK) {
        fprintf(stderr, "hello_server: %s\n", pollhttp_last_error_message());
        return 1;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    int ep = epoll_create1(EPOLL_CLOEXEC), sig = signalfd(-1, &stop, SFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 0};
    epoll_ctl(ep, EPOLL_CTL_ADD, pollhttp_server_pollfd(s), &ev); /* once, edge-triggered */
    ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = 1};
    epoll_ctl(ep, EPOLL_CTL_ADD, sig, &ev);
    printf("hello_server listening on %s:%u\n", argv[1], port);
    fflush(stdout);
    for (;;) {
        struct epoll_event got[4];
        int n = epoll_wait(ep, got, 4, pollhttp_server_timeout(s));
        for (int i = 0; i < n; i++)
            if (got[i].data.u64 == 1) pollhttp_server_shutdown(s); /* SIGINT, SIGTERM */
        if (pollhttp_server_step(s) != POLLHTTP_OK) break;
        uint64_t req;
        int rc;
        while ((rc = pollhttp_server_try_next_request(s, &req)) == POLLHTTP_OK) serve(s, req);
        if (rc == POLLHTTP_END) break; /* shut down, every connection closed */
    }
    pollhttp_server_free(s);
    close(sig);
    close(ep);
    return 0;
}
