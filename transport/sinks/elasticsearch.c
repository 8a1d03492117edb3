/* SPDX-License-Identifier: Apache-2.0 */
/* elasticsearch.c -- the `elasticsearch` sink: documents sent with the HTTP `_bulk`
 * API over libcurl, one request per offered batch.
 *
 * The body is the NDJSON of es_bulk.c (gzip-compressed unless gzip = false).
 * The per-item results of the response decide each message's fate: 2xx is
 * confirmed, 429 and 5xx are retried (and the sink backs off, so a busy
 * cluster is not hammered), any other status (400 mapper_parsing_exception,
 * say) is logged with the item and put in the sink's dead-letter file
 * (transport/deadletter.h): a poison message never stops the sink.
 * A whole request answered 413 (too large), or 400 with an Elasticsearch
 * error object, is split in halves and each half sent again, down to
 * single documents; a single document still refused so is dead-lettered. A failed connection, a
 * timeout, an HTTP 429/5xx, or 401/403 (credentials) for the whole request is a connection-level
 * failure: the transport keeps the batch (memory, then spool) and retries with capped exponential
 * backoff, and the log names the status. Each document has a fixed _id, so a re-sent one overwrites
 * itself instead of duplicating.
 *
 * The curl easy handle lives from open() to close(), so its connection is
 * kept across batches. Requests are bounded by `timeout`, which is how long
 * the sink's delivery thread can be held up by a stalled server.
 *
 * hp-module-pkgs: libcurl zlib */
#include "lib/buf.h"
#include "transport/deadletter.h"
#include "transport/sinks/es_bulk.h"
#include "transport/sink.h"

#include "lib/clock.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define RESPONSE_MAX (64u << 20) /* a bigger answer is an error */
#define DROP_LOG_MAX 10          /* dropped items logged per minute */
#define SPLIT_POSTS  16          /* requests per write() while splitting (> log2 of a batch) */

struct es {
    /* options (es_opts) */
    const char *url, *index, *user, *password, *api_key, *ca_file;
    bool verify, gzip;
    double timeout, connect_timeout; /* seconds */
    /* derived at init */
    struct hp_tmpl index_t;
    long timeout_ms, connect_timeout_ms;
    char bulk_url[1100];
    char safe_url[1100]; /* redacted, for messages */
    CURL *curl;
    struct curl_slist *headers;
    char curl_err[CURL_ERROR_SIZE];
    struct hp_es_bulk bulk;
    struct hp_buf gz, resp;
    struct json_tokener *tok;
    uint64_t *pos; /* backlog position of each document in the request */
    const struct hp_msg **msgs;
    struct hp_out *outs; /* the envelopes of the batch, split on 413/400 */
    size_t *from;        /* index in the offered batch of each of outs */
    size_t cap;
    int64_t drop_window_ms;             /* start of the minute counted below */
    unsigned drops_logged, drops_quiet; /* dropped items logged / not, this minute */
    bool global;                        /* curl_global_init done */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct hp_buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n + 1 > RESPONSE_MAX || hp_buf_put(b, data, n) != 0)
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    return n;
}

/* Gzip in[0..n) into e->gz. 0 or -1. */
static int gzip_body(struct es *e, const char *in, size_t n)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t bound = deflateBound(&z, (uLong)n) + 32;
    int rc = hp_buf_reserve(&e->gz, bound);
    if (rc == 0) {
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)e->gz.p;
        z.avail_out = (uInt)e->gz.cap;
        rc = deflate(&z, Z_FINISH) == Z_STREAM_END ? 0 : -1;
        e->gz.len = z.total_out;
    }
    deflateEnd(&z);
    return rc;
}

/* The error type and reason of an item or of a whole-request error. */
static void error_text(json_object *err, char *out, size_t len)
{
    json_object *type = NULL, *reason = NULL;
    if (json_object_is_type(err, json_type_object)) {
        json_object_object_get_ex(err, "type", &type);
        json_object_object_get_ex(err, "reason", &reason);
    }
    snprintf(out, len, "%s%s%s", type ? json_object_get_string(type) : "error", reason ? ": " : "",
             reason ? json_object_get_string(reason) : "");
}

/* Log a refused document: the first DROP_LOG_MAX of each minute in full,
 * then a count of the others when the minute is over. */
static void log_drop(struct hp_sink *s, const struct hp_msg *m, int code, json_object *err)
{
    struct es *e = s->priv;
    int64_t now = hp_mono_ms();
    if (now - e->drop_window_ms >= 60000) {
        if (e->drops_quiet)
            hp_warn("sink %s: %u more document(s) dead-lettered in the last minute", s->name,
                    e->drops_quiet);
        e->drop_window_ms = now;
        e->drops_logged = e->drops_quiet = 0;
    }
    if (e->drops_logged >= DROP_LOG_MAX) {
        e->drops_quiet++;
        return;
    }
    e->drops_logged++;
    char why[512];
    error_text(err, why, sizeof(why));
    hp_warn("sink %s: dead-lettering %s #%llu: status %d %s", s->name, m->reporter,
            (unsigned long long)m->seq, code, why);
}

/* Settle item i from its result. Returns 1 if it is to be retried. */
static int settle_item(struct hp_sink *s, size_t i, json_object *item)
{
    struct es *e = s->priv;
    json_object *res = NULL, *status = NULL, *err = NULL;
    if (json_object_is_type(item, json_type_object)) {
        json_object_object_foreach(item, op, val)
        {
            (void)op;
            res = val;
            break;
        }
    }
    int code =
        res && json_object_object_get_ex(res, "status", &status) ? json_object_get_int(status) : 0;
    if (code >= 200 && code < 300) {
        hp_sink_ack(s, e->pos[i], HP_ACK_OK);
        return 0;
    }
    if (code == 429 || code >= 500 || code == 0) {
        hp_sink_ack(s, e->pos[i], HP_ACK_RETRY);
        return 1;
    }
    json_object_object_get_ex(res, "error", &err);
    log_drop(s, e->msgs[i], code, err);
    char why[512], reason[560];
    error_text(err, why, sizeof(why));
    snprintf(reason, sizeof(reason), "item status %d: %s", code, why);
    hp_dead_letter(s, e->msgs[i], reason);
    hp_sink_ack(s, e->pos[i], HP_ACK_DROP);
    return 0;
}

/* Read the per-item results of a 200 answer. Returns how many items are to
 * be retried, or -1 if the answer does not match the request. */
static int settle(struct hp_sink *s, size_t ndocs)
{
    struct es *e = s->priv;
    json_tokener_reset(e->tok);
    json_object *r = json_tokener_parse_ex(e->tok, e->resp.p ? e->resp.p : "", (int)e->resp.len);
    json_object *items = NULL;
    if (!r || !json_object_object_get_ex(r, "items", &items) ||
        !json_object_is_type(items, json_type_array) || json_object_array_length(items) != ndocs) {
        json_object_put(r);
        return hp_sink_fail(s, "POST %s: the answer does not list one result per document",
                            e->safe_url);
    }
    int retry = 0;
    for (size_t i = 0; i < ndocs; i++)
        retry += settle_item(s, i, json_object_array_get_idx(items, i));
    json_object_put(r);
    return retry;
}

/* The answer's "error" member as text in why ("" when it has none).
 * True when that is an Elasticsearch error object ({"error":{...}}). */
static bool resp_error(struct es *e, char *why, size_t len)
{
    json_object *err = NULL;
    bool obj = false;
    why[0] = '\0';
    json_tokener_reset(e->tok);
    json_object *r =
        e->resp.len ? json_tokener_parse_ex(e->tok, e->resp.p, (int)e->resp.len) : NULL;
    if (r && json_object_object_get_ex(r, "error", &err)) {
        error_text(err, why, len);
        obj = json_object_is_type(err, json_type_object);
    }
    json_object_put(r);
    return obj;
}

/* Turn a non-200 answer into s->error. */
static int http_fail(struct hp_sink *s, long code)
{
    struct es *e = s->priv;
    char why[300];
    resp_error(e, why, sizeof(why));
    if (code == 401 || code == 403)
        return hp_sink_fail(s,
                            "POST %s: HTTP %ld%s%s%s: the cluster refused the credentials (check "
                            "user/password or api_key); messages are kept and retried",
                            e->safe_url, code, why[0] ? " (" : "", why, why[0] ? ")" : "");
    return hp_sink_fail(s, "POST %s: HTTP %ld%s%s%s", e->safe_url, code, why[0] ? " (" : "", why,
                        why[0] ? ")" : "");
}

/* Send the bulk body; 0 with the answer in e->resp, or -1. */
static int post(struct hp_sink *s, long *code)
{
    struct es *e = s->priv;
    const char *body = e->bulk.body.p;
    size_t len = e->bulk.body.len;
    if (e->gzip) {
        if (gzip_body(e, body, len) != 0)
            return hp_sink_fail(s, "gzip: out of memory");
        body = e->gz.p;
        len = e->gz.len;
    }
    e->resp.len = 0;
    e->curl_err[0] = '\0';
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode rc = curl_easy_perform(e->curl);
    if (rc != CURLE_OK)
        return hp_sink_fail(s, "POST %s: %s", e->safe_url,
                            e->curl_err[0] ? e->curl_err : curl_easy_strerror(rc));
    curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, code);
    return 0;
}

static int reserve_docs(struct es *e, size_t n)
{
    if (n <= e->cap)
        return 0;
    uint64_t *pos = realloc(e->pos, n * sizeof(*pos));
    if (!pos)
        return -1;
    e->pos = pos;
    const struct hp_msg **msgs = realloc(e->msgs, n * sizeof(*msgs));
    if (!msgs)
        return -1;
    e->msgs = msgs;
    struct hp_out *outs = realloc(e->outs, n * sizeof(*outs));
    if (!outs)
        return -1;
    e->outs = outs;
    size_t *from = realloc(e->from, n * sizeof(*from));
    if (!from)
        return -1;
    e->from = from;
    e->cap = n;
    return 0;
}

/* Build the bulk body of out[0..n) (all envelopes). 0 or -1. */
static int build(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct es *e = s->priv;
    hp_es_bulk_reset(&e->bulk);
    for (size_t i = 0; i < n; i++) {
        if (hp_es_bulk_add(&e->bulk, &e->index_t, out[i].msg) != 0)
            return hp_sink_fail(s, "out of memory");
        e->pos[e->bulk.ndocs - 1] = out[i].pos;
        e->msgs[e->bulk.ndocs - 1] = out[i].msg;
    }
    return 0;
}

/* A single document the cluster refuses as a whole request: dead-letter it
 * and move on. */
static void refuse_one(struct hp_sink *s, const struct hp_out *o, long code)
{
    struct es *e = s->priv;
    char why[300], reason[400];
    resp_error(e, why, sizeof(why));
    snprintf(reason, sizeof(reason), "HTTP %ld for the document alone%s%s", code,
             why[0] ? ": " : (code == 413 ? ": larger than http.max_content_length" : ""), why);
    hp_warn("sink %s: dead-lettering %s #%llu: %s", s->name, o->msg->reporter,
            (unsigned long long)o->msg->seq, reason);
    hp_dead_letter(s, o->msg, reason);
    hp_sink_ack(s, o->pos, HP_ACK_DROP);
}

/* Send out[0..n) as one request (the body already built when `built`).
 * Returns n when the answer settled them (items to retry are added to
 * *retry); 0 when the request was too big or unparseable as a whole (413,
 * or 400 with an Elasticsearch error object) and n > 1: the caller sends
 * less; 1 when that single document was dead-lettered; -1 when the sink
 * failed (reason in s->error; the unacked ones are re-queued). */
static int send_chunk(struct hp_sink *s, const struct hp_out *out, size_t n, bool built, int *retry)
{
    struct es *e = s->priv;
    if (!built && build(s, out, n) != 0)
        return -1;
    long code = 0;
    if (post(s, &code) != 0)
        return -1;
    if (code == 200) {
        int r = settle(s, e->bulk.ndocs);
        if (r < 0)
            return -1;
        *retry += r;
        return (int)n;
    }
    /* A 400 is about the content only when Elasticsearch says why (a
     * proxy's 400 page is a configuration problem: keep the data). */
    char why[300];
    if (code != 413 && (code != 400 || !resp_error(e, why, sizeof(why))))
        return http_fail(s, code);
    if (n > 1) {
        hp_debug("sink %s: HTTP %ld for %zu documents; sending fewer", s->name, code, n);
        return 0;
    }
    refuse_one(s, out, code);
    return 1;
}

static int es_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct es *e = s->priv;
    if (reserve_docs(e, n) != 0)
        return hp_sink_fail(s, "out of memory");
    hp_es_bulk_reset(&e->bulk);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = hp_es_bulk_add(&e->bulk, &e->index_t, out[i].msg);
        if (rc < 0)
            return hp_sink_fail(s, "out of memory");
        if (rc > 0) {
            hp_warn("sink %s: dead-lettering a message that is not an envelope (%s #%llu)", s->name,
                    out[i].msg->reporter, (unsigned long long)out[i].msg->seq);
            hp_dead_letter(s, out[i].msg, "not a message envelope");
            hp_sink_ack(s, out[i].pos, HP_ACK_DROP);
            continue;
        }
        e->pos[e->bulk.ndocs - 1] = out[i].pos;
        e->msgs[e->bulk.ndocs - 1] = out[i].msg;
        e->from[k] = i;
        e->outs[k++] = out[i];
    }
    if (k == 0)
        return (int)n;
    /* Normally one request. A 413/400 halves the request size until it
     * passes (a single document still refused is dead-lettered), then it
     * doubles again: about one request per document through a bad patch.
     * At most SPLIT_POSTS requests per call, so a poison batch never holds
     * the delivery thread for long (the first document always settles:
     * SPLIT_POSTS is more than log2 of any batch); the rest is offered at
     * the next turn. */
    int retry = 0, posts = SPLIT_POSTS;
    size_t done = 0, chunk = k;
    while (done < k && posts-- > 0) {
        size_t size = chunk < k - done ? chunk : k - done;
        int r = send_chunk(s, e->outs + done, size, size == k, &retry);
        if (r < 0)
            return -1;
        chunk = r == 0 ? size / 2 : (chunk * 2 < k ? chunk * 2 : k);
        done += (size_t)r;
    }
    if (retry > 0) /* only those come back, after a backoff */
        return hp_sink_fail(s, "%d of %zu documents refused for now (429/5xx); backing off", retry,
                            done);
    /* Taken: everything before the first envelope not sent (non-envelopes
     * in between were dead-lettered above). */
    return done == k ? (int)n : (int)e->from[done];
}

static int set_headers(struct es *e)
{
    char auth[1024];
    struct curl_slist *h = NULL, *t;
    const char *lines[] = {"Content-Type: application/x-ndjson",
                           "Expect:", e->gzip ? "Content-Encoding: gzip" : NULL};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!lines[i])
            continue;
        if (!(t = curl_slist_append(h, lines[i])))
            goto err;
        h = t;
    }
    if (e->api_key && *e->api_key) {
        snprintf(auth, sizeof(auth), "Authorization: ApiKey %s", e->api_key);
        t = curl_slist_append(h, auth);
        memset(auth, 0, sizeof(auth));
        if (!t)
            goto err;
        h = t;
    }
    e->headers = h;
    return 0;
err:
    curl_slist_free_all(h);
    return -1;
}

/* Apply the options to a fresh easy handle. */
static void set_options(struct es *e)
{
    CURL *c = e->curl;
    curl_easy_setopt(c, CURLOPT_URL, e->bulk_url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &e->resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->curl_err);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* any the server offers */
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hostpulse");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, e->verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, e->verify ? 2L : 0L);
    if (e->ca_file && *e->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, e->ca_file);
    if (e->user && *e->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, e->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, e->password ? e->password : "");
    }
}

static int es_open(struct hp_sink *s)
{
    struct es *e = s->priv;
    if (!e->curl && !(e->curl = curl_easy_init()))
        return hp_sink_fail(s, "cannot create a curl handle");
    set_options(e);
    return 0; /* the connection is made by the first request */
}

static void es_close(struct hp_sink *s)
{
    struct es *e = s->priv;
    if (e->curl)
        curl_easy_cleanup(e->curl);
    e->curl = NULL;
}

/* --check --connect: GET the base URL (the cluster banner). */
static int es_check(struct hp_sink *s)
{
    struct es *e = s->priv;
    int problems = 0;
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "sink %s (%s): cannot create a curl handle\n", s->name, s->ops->type);
        return 1;
    }
    e->curl = c;
    set_options(e);
    curl_easy_setopt(c, CURLOPT_URL, e->url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    struct curl_slist *auth = NULL; /* the API key without the bulk headers */
    for (struct curl_slist *h = e->headers; h; h = h->next)
        if (strncmp(h->data, "Authorization:", 14) == 0)
            auth = curl_slist_append(auth, h->data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, auth);
    e->resp.len = 0;
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    char base[sizeof(e->safe_url)];
    hp_redact_url(e->url, base, sizeof(base));
    if (rc != CURLE_OK) {
        fprintf(stderr, "sink %s (%s): GET %s: %s\n", s->name, s->ops->type, base,
                curl_easy_strerror(rc));
        problems = 1;
    } else if (code != 200) {
        fprintf(stderr, "sink %s (%s): GET %s: HTTP %ld%s\n", s->name, s->ops->type, base, code,
                code == 401 || code == 403 ? " (credentials refused: check user/password or "
                                             "api_key)"
                                           : "");
        problems = 1;
    } else {
        fprintf(stderr, "sink %s (%s): ok\n", s->name, s->ops->type);
    }
    es_close(s);
    curl_slist_free_all(auth);
    return problems;
}

static const struct hp_opt es_opts[] = {
    {.name = "url",
     .type = HP_OPT_STRING,
     .def = "http://127.0.0.1:9200",
     .help = "base URL of the cluster; requests go to URL/_bulk",
     HP_AT_STR(struct es, url)},
    {.name = "index",
     .type = HP_OPT_STRING,
     .def = "hostpulse-{reporter}-%Y.%m.%d",
     .help = "index name: {host}, {reporter}, {session}, strftime conversions on the "
             "message's UTC time",
     HP_AT_STR(struct es, index)},
    {.name = "user",
     .type = HP_OPT_STRING,
     .def = "",
     .help = "basic auth user",
     HP_AT_STR(struct es, user)},
    {.name = "password",
     .type = HP_OPT_STRING,
     .def = "",
     .help = "basic auth password",
     HP_AT_STR(struct es, password)},
    {.name = "api_key",
     .type = HP_OPT_STRING,
     .def = "",
     .help = "API key (base64 id:key), sent as Authorization: ApiKey",
     HP_AT_STR(struct es, api_key)},
    {.name = "ca_file",
     .type = HP_OPT_STRING,
     .def = "",
     .help = "PEM file of the CA that signed the server's certificate",
     HP_AT_STR(struct es, ca_file)},
    {.name = "verify",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "verify the server's TLS certificate and host name",
     HP_AT_BOOL(struct es, verify)},
    {.name = "gzip",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "gzip request bodies (Content-Encoding: gzip)",
     HP_AT_BOOL(struct es, gzip)},
    {.name = "timeout",
     .type = HP_OPT_FLOAT,
     .def = "5.0",
     .min = 0.1,
     .max = 300,
     .help = "seconds a whole request may take",
     HP_AT_FLOAT(struct es, timeout)},
    {.name = "connect_timeout",
     .type = HP_OPT_FLOAT,
     .def = "2.0",
     .min = 0.1,
     .max = 300,
     .help = "seconds to establish the connection",
     HP_AT_FLOAT(struct es, connect_timeout)},
    {0},
};

static int es_init(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct es *e = s->priv;
    e->timeout_ms = (long)(e->timeout * 1000);
    e->connect_timeout_ms = (long)(e->connect_timeout * 1000);
    char reason[200];
    const char *why =
        hp_es_index_compile(&e->index_t, e->index, reason, sizeof(reason)) ? reason : NULL;
    size_t ulen = e->url ? strlen(e->url) : 0;
    bool bad_url = ulen == 0 || ulen > 1000 ||
                   (strncmp(e->url, "http://", 7) != 0 && strncmp(e->url, "https://", 8) != 0);
    if (why)
        hp_errs_add(errs, cfg, "sink %s: index \"%s\" %s", s->name, e->index, why);
    if (bad_url)
        hp_errs_add(errs, cfg, "sink %s: url must start with http:// or https://", s->name);
    if (why || bad_url)
        return -1;
    while (ulen > 0 && e->url[ulen - 1] == '/')
        ulen--;
    snprintf(e->bulk_url, sizeof(e->bulk_url), "%.*s/_bulk", (int)ulen, e->url);
    hp_redact_url(e->bulk_url, e->safe_url, sizeof(e->safe_url));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return -1;
    e->global = true;
    if (set_headers(e) != 0 || hp_es_bulk_init(&e->bulk) != 0 || !(e->tok = json_tokener_new()))
        return -1;
    return 0;
}

static void es_fini(struct hp_sink *s)
{
    struct es *e = s->priv;
    es_close(s);
    curl_slist_free_all(e->headers);
    if (e->global)
        curl_global_cleanup();
    hp_es_bulk_free(&e->bulk);
    if (e->tok)
        json_tokener_free(e->tok);
    free(e->gz.p);
    free(e->resp.p);
    free(e->pos);
    free(e->msgs);
    free(e->outs);
    free(e->from);
}

const struct hp_sink_ops hp_sink_elasticsearch = {
    .type = "elasticsearch",
    .opts = es_opts,
    .priv_size = sizeof(struct es),
    .init = es_init,
    .open = es_open,
    .write = es_write,
    .close = es_close,
    .fini = es_fini,
    .check = es_check,
};
