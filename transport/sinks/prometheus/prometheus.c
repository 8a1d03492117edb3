/* SPDX-License-Identifier: Apache-2.0 */
/* prometheus.c -- the `prometheus` sink: the latest sample of every
 * reporter, served at /metrics for Prometheus to scrape, so a host needs
 * no node_exporter beside the agent.
 *
 * Two threads touch this sink, each with one job. The sink's delivery
 * thread (hp-s-NAME, write) copies each message's JSON into its reporter's slot: a memcpy
 * under `lock`, acknowledged at once, since "delivered" here means
 * "available to the next scrape". libmicrohttpd's own thread answers
 * scrapes: it copies the slots under the same lock, then parses and
 * renders them (expo.c) with the lock released, so a scrape never holds up
 * the delivery thread, a reporter or another sink, and nothing is rendered when
 * nobody scrapes. Content negotiation: OpenMetrics when the Accept header
 * asks for application/openmetrics-text, else the 0.0.4 text format.
 *
 * hp-module-pkgs: libmicrohttpd */
#include "transport/sink.h"
#include "transport/sinks/prometheus/expo.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_SLOTS 64 /* reporters; more are not kept (and are logged once) */

struct slot {
    char reporter[HP_NAME_MAX];
    struct hp_buf json; /* the latest envelope */
};

struct prom {
    const char *listen; /* options (bound) */
    const char *path;
    struct sockaddr_storage addr;
    bool ipv6;
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock; /* guards slots and nslots: held for copies only */
    struct slot slots[MAX_SLOTS];
    size_t nslots;
    bool warned_full; /* delivery thread only */
    bool lock_init;   /* init succeeded: fini destroys the lock */
    /* The agent's health for /health (struct hp_sink_ident), or NULL. */
    int (*health)(void *ctx, char **json, size_t *len);
    void *health_ctx;
};

/* clang-format off */
static const struct hp_opt prom_opts[] = {
    {.name = "listen", .type = HP_OPT_STRING, .def = "127.0.0.1:9105",
     .help = "ADDRESS:PORT to serve /metrics on ([::1]:9105 for IPv6)", HP_AT_STR(struct prom, listen)},
    {.name = "path", .type = HP_OPT_STRING, .def = "/metrics",
     .help = "URL path of the metrics", HP_AT_STR(struct prom, path)},
    {0},
};
/* clang-format on */

/* "host:port" or "[v6]:port" into p->addr. 0, or -1 with why. */
static int parse_listen(struct prom *p, char *why, size_t len)
{
    char host[256];
    const char *colon = strrchr(p->listen, ':');
    const char *h = p->listen;
    size_t hl = colon ? (size_t)(colon - h) : 0;
    if (hl > 1 && h[0] == '[' && h[hl - 1] == ']')
        h++, hl -= 2;
    if (!colon || hl == 0 || hl >= sizeof(host) || !colon[1]) {
        snprintf(why, len, "listen: \"%s\" is not ADDRESS:PORT", p->listen);
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0 || !ai) {
        snprintf(why, len, "listen: \"%s\": %s", p->listen, gai_strerror(rc));
        return -1;
    }
    memcpy(&p->addr, ai->ai_addr, ai->ai_addrlen);
    p->ipv6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    return 0;
}

static int prom_init(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct prom *p = s->priv; /* options loaded by the engine */
    char why[320];
    if (parse_listen(p, why, sizeof(why)) != 0 || p->path[0] != '/') {
        if (p->path[0] != '/')
            snprintf(why, sizeof(why), "path: \"%s\" must start with /", p->path);
        hp_errs_add(errs, cfg, "sink %s: %s", s->name, why);
        return -1;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->lock_init = true;
    p->health = s->id.health;
    p->health_ctx = s->id.health_ctx;
    return 0;
}

#define TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define OM_TYPE   "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Copy every slot's JSON (HTTP thread). Returns how many were copied. */
static size_t snapshot(struct prom *p, char **json)
{
    size_t n = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].json.p && (json[n] = strdup(p->slots[i].json.p)) != NULL)
            n++;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* The body of /metrics, malloc'd (the caller frees it); NULL on ENOMEM. */
static char *render(struct prom *p, bool openmetrics, size_t *len)
{
    char *json[MAX_SLOTS];
    size_t n = snapshot(p, json);
    struct hp_expo x = {.openmetrics = openmetrics};
    for (size_t i = 0; i < n; i++) {
        json_object *env = json_tokener_parse(json[i]);
        if (env)
            hp_expo_message(&x, env);
        json_object_put(env);
        free(json[i]);
    }
    hp_expo_finish(&x);
    if (!x.err && !x.out.p) { /* no sample yet: an empty exposition, not an error */
        *len = 0;
        return calloc(1, 1);
    }
    if (x.err) {
        hp_buf_free(&x.out);
        return NULL;
    }
    *len = x.out.len;
    return x.out.p;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    return reply(c, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
                 MHD_RESPMEM_PERSISTENT);
}

/* libmicrohttpd's thread: GET /metrics, GET /health (the agent's verdict,
 * 200 or 503, when the agent gave a health hook), GET / (a pointer to
 * them), else 404. */
static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)version, (void)upload, (void)upload_size, (void)state;
    struct prom *p = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    if (strcmp(url, p->path) == 0) {
        const char *acc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
        bool om = acc && strstr(acc, "application/openmetrics-text");
        size_t len = 0;
        char *body = render(p, om, &len);
        if (!body)
            return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return reply(c, MHD_HTTP_OK, om ? OM_TYPE : TEXT_TYPE, body, len, MHD_RESPMEM_MUST_FREE);
    }
    if (strcmp(url, "/health") == 0 && p->health) {
        char *json = NULL;
        size_t len = 0;
        int code = p->health(p->health_ctx, &json, &len);
        if (code < 0)
            return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return reply(c, (unsigned)code, "application/json", json, len, MHD_RESPMEM_MUST_FREE);
    }
    if (strcmp(url, "/") == 0)
        return reply_text(c, MHD_HTTP_OK,
                          "hostpulse: metrics are at the configured path "
                          "(default /metrics)\n");
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static int prom_open(struct hp_sink *s)
{
    struct prom *p = s->priv;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | (p->ipv6 ? MHD_USE_IPv6 : 0);
    p->daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, answer, p, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&p->addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!p->daemon)
        return hp_sink_fail(s, "cannot listen on %s: %s", p->listen, strerror(errno));
    return 0;
}

/* Keep m as its reporter's latest. Caller holds p->lock. -1 on ENOMEM,
 * 1 when every slot is taken by other reporters. */
static int keep(struct prom *p, const struct hp_msg *m)
{
    struct slot *sl = NULL;
    for (size_t i = 0; i < p->nslots && !sl; i++)
        if (strcmp(p->slots[i].reporter, m->reporter) == 0)
            sl = &p->slots[i];
    if (!sl && p->nslots == MAX_SLOTS)
        return 1;
    if (!sl) {
        sl = &p->slots[p->nslots++];
        snprintf(sl->reporter, sizeof(sl->reporter), "%s", m->reporter);
    }
    sl->json.len = 0;
    return hp_buf_put(&sl->json, m->json, m->len);
}

static int prom_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct prom *p = s->priv;
    int rc = 0, full = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < n && rc >= 0; i++) {
        rc = keep(p, out[i].msg);
        full |= rc == 1;
    }
    pthread_mutex_unlock(&p->lock);
    if (rc < 0)
        return hp_sink_fail(s, "out of memory keeping the latest samples");
    if (full)
        hp_warn_once(&p->warned_full, "sink %s: more than %d reporters; the rest are not served",
                     s->name, MAX_SLOTS);
    for (size_t i = 0; i < n; i++)
        hp_sink_ack(s, out[i].pos, HP_ACK_OK);
    return (int)n;
}

static void prom_close(struct hp_sink *s)
{
    struct prom *p = s->priv;
    if (p->daemon)
        MHD_stop_daemon(p->daemon);
    p->daemon = NULL;
}

static void prom_fini(struct hp_sink *s)
{
    struct prom *p = s->priv;
    prom_close(s);
    for (size_t i = 0; i < p->nslots; i++)
        hp_buf_free(&p->slots[i].json);
    if (p->lock_init)
        pthread_mutex_destroy(&p->lock);
}

const struct hp_sink_ops hp_sink_prometheus = {
    .type = "prometheus",
    .opts = prom_opts,
    .priv_size = sizeof(struct prom),
    .init = prom_init,
    .open = prom_open,
    .write = prom_write,
    .close = prom_close,
    .fini = prom_fini,
};
