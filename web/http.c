/* SPDX-License-Identifier: Apache-2.0 */
/* http.c -- hostpulse-web's HTTP server: pages, static files, /api/.
 *
 * One libmicrohttpd daemon with a thread pool. A request handler is a pure
 * function of the request plus read-only access to the store: each worker
 * thread opens its own store reader (SQLite in WAL mode lets readers run
 * beside the one writer) the first time it needs one, kept in a
 * thread-specific slot that closes it when the thread ends. Nothing global:
 * everything lives in struct hp_http, passed to MHD as cls.
 *
 * Routes (GET and HEAD only):
 *   /                    the fleet page (static/fleet.html)
 *   /host/NAME           a host's page (static/host.html, NAME escaped in)
 *   /static/FILE         the pages' own scripts and style sheet
 *   /javascript/PKG/FILE Debian's JavaScript packages (js_dir), e.g. Chart.js
 *   /api/...             JSON (web/api.c)
 *
 * Beyond loopback, optional basic auth checks the password against a
 * crypt(3) hash (yescrypt, sha512-crypt, as in /etc/shadow) and optional
 * TLS comes from MHD's HTTPS options (GnuTLS). */
#include "web/http.h"
#include "web/api.h"
#include "web/html.h"
#include "lib/buf.h"
#include "lib/log.h"

#include <crypt.h>
#include <json-c/json.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define REALM      "hostpulse-web"
#define PAGE_MAX   (256 * 1024)
#define DEV_STATIC "/../../web/static" /* from build/VARIANT/ in the tree */
#define HOST_MARK  "{{host}}"
#define CSP_HEADER                                                                                 \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

struct hp_http {
    const struct hp_web_conf *conf;
    struct MHD_Daemon *d;
    pthread_key_t reader_key; /* this worker thread's struct hp_store_reader * */
    bool key_live;
    char static_dir[PATH_MAX];
    char *fleet_html, *host_html; /* page templates, read at start */
    char *tls_cert, *tls_key;     /* PEM text, NUL-terminated */
    /* The last Authorization that passed crypt(3): a page polls the API every
     * few seconds and yescrypt is deliberately slow. Guarded by auth_lock. */
    pthread_mutex_t auth_lock;
    char *auth_ok;
};

/* Read a whole file into a new NUL-terminated string; NULL with errno set. */
static char *slurp(const char *path, size_t max)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *p = malloc(max + 1);
    size_t n = p ? fread(p, 1, max + 1, f) : 0;
    int bad = !p || ferror(f) || n > max;
    fclose(f);
    if (bad) {
        free(p);
        errno = p ? EFBIG : ENOMEM;
        return NULL;
    }
    p[n] = '\0';
    return p;
}

static bool file_exists(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, R_OK) == 0;
}

/* The configured static directory; when it lacks the pages and this binary
 * runs from a source tree (build/VARIANT/hostpulse-web), the tree's
 * web/static, so that `./hostpulse-web --stdin` works before installing. */
static int find_static_dir(struct hp_http *h, char *err, size_t len)
{
    const char *dir = h->conf->static_dir;
    if (dir && *dir && file_exists(dir, "fleet.html")) {
        snprintf(h->static_dir, sizeof h->static_dir, "%s", dir);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - sizeof DEV_STATIC);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            strcpy(slash, DEV_STATIC);
            if (file_exists(exe, "fleet.html")) {
                snprintf(h->static_dir, sizeof h->static_dir, "%s", exe);
                hp_info("http: pages from the source tree %s", exe);
                return 0;
            }
        }
    }
    snprintf(err, len, "http: no pages in static_dir \"%s\" (fleet.html missing)", dir ? dir : "");
    return -1;
}

static int load_pages(struct hp_http *h, char *err, size_t len)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/fleet.html", h->static_dir);
    h->fleet_html = slurp(path, PAGE_MAX);
    if (h->fleet_html) {
        snprintf(path, sizeof path, "%s/host.html", h->static_dir);
        h->host_html = slurp(path, PAGE_MAX);
    }
    if (!h->fleet_html || !h->host_html) {
        snprintf(err, len, "http: %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int load_tls(struct hp_http *h, char *err, size_t len)
{
    const struct hp_web_conf *c = h->conf;
    if (!c->tls_cert || !*c->tls_cert)
        return 0;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, len, "http: this libmicrohttpd has no TLS support");
        return -1;
    }
    const char *bad = NULL;
    if (!(h->tls_cert = slurp(c->tls_cert, PAGE_MAX)))
        bad = c->tls_cert;
    else if (!c->tls_key || !*c->tls_key || !(h->tls_key = slurp(c->tls_key, PAGE_MAX)))
        bad = c->tls_key && *c->tls_key ? c->tls_key : "(web.tls_key not set)";
    if (bad) {
        snprintf(err, len, "http: cannot read TLS file %s: %s", bad, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- responses ---------------------------------------------------------- */

static void common_headers(struct MHD_Response *r, const char *type)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy", CSP_HEADER);
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

/* Queue body (copied) with status and type. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, size_t n)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    common_headers(r, type);
    if (strncmp(type, "application/json", 16) == 0)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return reply(c, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

static const char *type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* A relative path made of [A-Za-z0-9._-] names separated by single '/',
 * none starting with '.': nothing can climb out of the served directory. */
static bool safe_path(const char *p, bool allow_slash)
{
    bool start = true;
    if (!*p)
        return false;
    for (; *p; p++) {
        char ch = *p;
        if (ch == '/' && allow_slash && !start) {
            start = true;
            continue;
        }
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || (ch == '.' && !start);
        if (!ok)
            return false;
        start = false;
    }
    return !start;
}

static enum MHD_Result serve_file(struct MHD_Connection *c, const char *dir, const char *rel,
                                  bool allow_slash)
{
    const char *type = type_of(rel);
    if (!dir || !*dir || !safe_path(rel, allow_slash) || !type)
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    common_headers(r, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "max-age=300");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* The host page: the template with every {{host}} replaced by the escaped
 * name (page title, heading, data-host attribute the script reads). */
static enum MHD_Result serve_host_page(struct MHD_Connection *c, const struct hp_http *h,
                                       const char *name)
{
    struct hp_buf b = {0};
    const char *p = h->host_html, *m;
    int bad = 0;
    while (!bad && (m = strstr(p, HOST_MARK))) {
        bad = hp_buf_put(&b, p, (size_t)(m - p)) < 0 || hp_html_escape(&b, name) < 0;
        p = m + strlen(HOST_MARK);
    }
    bad = bad || hp_buf_str(&b, p) < 0;
    enum MHD_Result ret =
        bad ? MHD_NO : reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", b.p, b.len);
    hp_buf_free(&b);
    return ret;
}

/* ---- basic auth --------------------------------------------------------- */

/* Compare without an early exit, so that timing tells nothing of where two
 * secrets differ (their lengths still show). */
static bool same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static bool password_ok(const char *hash, const char *pass)
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        return false;
    const char *out = crypt_r(pass, hash, cd);
    /* a failed crypt returns NULL or a string starting with '*' */
    bool ok = out && out[0] != '*' && same(out, hash);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return ok;
}

/* True when the request may proceed; otherwise a 401 was queued (*ret). */
static bool authorized(struct hp_http *h, struct MHD_Connection *c, enum MHD_Result *ret)
{
    const struct hp_web_conf *conf = h->conf;
    if (!conf->auth_user || !*conf->auth_user)
        return true;
    const char *header =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(c, &pass);
    bool ok = false;
    if (user && pass && header && same(user, conf->auth_user)) {
        pthread_mutex_lock(&h->auth_lock);
        ok = h->auth_ok && same(h->auth_ok, header);
        pthread_mutex_unlock(&h->auth_lock);
        if (!ok && (ok = password_ok(conf->auth_hash ? conf->auth_hash : "*", pass))) {
            char *copy = strdup(header);
            pthread_mutex_lock(&h->auth_lock);
            free(h->auth_ok);
            h->auth_ok = copy;
            pthread_mutex_unlock(&h->auth_lock);
        }
    }
    if (pass) {
        explicit_bzero(pass, strlen(pass));
        MHD_free(pass);
    }
    MHD_free(user);
    if (ok)
        return true;
    static const char msg[] = "authentication required\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
    *ret = r ? MHD_queue_basic_auth_fail_response(c, REALM, r) : MHD_NO;
    if (r)
        MHD_destroy_response(r);
    return false;
}

/* ---- the API ------------------------------------------------------------ */

/* Destructor of the thread-specific reader slot: runs when a worker thread
 * ends. Also frees the thread's json-c number format (serve_api). */
static void close_reader(void *r)
{
    hp_store_reader_close(r);
    json_c_set_serialization_double_format(NULL, JSON_C_OPTION_THREAD);
}

static const char *query_arg(void *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result serve_api(struct hp_http *h, struct MHD_Connection *c, const char *path)
{
    char err[256] = "";
    struct hp_store_reader *r = pthread_getspecific(h->reader_key);
    if (!r) {
        r = hp_store_reader_open(h->conf->db, err, sizeof err);
        if (!r || pthread_setspecific(h->reader_key, r) != 0) {
            hp_store_reader_close(r);
            hp_warn("http: cannot open the store for reading: %s", err);
            static const char msg[] = "{\"error\":\"store unavailable\"}\n";
            return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", msg, sizeof msg - 1);
        }
        /* Doubles as the shortest text that reads back the same value
         * (60.15, not 60.149999999999999), for this thread's answers;
         * close_reader frees it with the reader. */
        json_c_set_serialization_double_format("%.15g", JSON_C_OPTION_THREAD);
    }
    struct hp_buf body = {0};
    struct hp_api_req req = {.path = path, .arg = query_arg, .arg_ctx = c};
    unsigned status = hp_api_answer(r, &req, &body);
    enum MHD_Result ret = body.p ? reply(c, status, "application/json", body.p, body.len) : MHD_NO;
    hp_buf_free(&body);
    return ret;
}

/* ---- dispatch ----------------------------------------------------------- */

static enum MHD_Result route(struct hp_http *h, struct MHD_Connection *c, const char *url)
{
    if (strcmp(url, "/") == 0)
        return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", h->fleet_html,
                     strlen(h->fleet_html));
    if (strncmp(url, "/host/", 6) == 0 && url[6])
        return serve_host_page(c, h, url + 6);
    if (strncmp(url, "/static/", 8) == 0)
        return serve_file(c, h->static_dir, url + 8, false);
    if (strncmp(url, "/javascript/", 12) == 0)
        return serve_file(c, h->conf->js_dir, url + 12, true);
    if (strncmp(url, "/api/", 5) == 0)
        return serve_api(h, c, url + 5);
    if (strcmp(url, "/favicon.ico") == 0)
        return reply(c, MHD_HTTP_NO_CONTENT, "text/plain", "", 0);
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state)
{
    (void)version;
    (void)upload_data;
    struct hp_http *h = cls;
    bool readonly =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (!*state) { /* first call: headers only */
        *state = h;
        /* refused before any body is read (MHD then closes the connection) */
        return readonly ? MHD_YES
                        : reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
    }
    if (*upload_size) { /* a body with GET means nothing: drop it */
        *upload_size = 0;
        return MHD_YES;
    }
    enum MHD_Result ret = MHD_NO;
    if (!authorized(h, c, &ret))
        return ret;
    return route(h, c, url);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    hp_warn("http: %s", line);
}

/* ---- start and stop ----------------------------------------------------- */

/* Split "HOST:PORT" or "[V6]:PORT" and resolve it (numeric or a name such as
 * localhost) into *out. */
static int parse_listen(const char *listen, struct sockaddr_storage *out, socklen_t *outlen,
                        char *err, size_t len)
{
    char host[256];
    const char *port;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof host)
            goto bad;
        snprintf(host, sizeof host, "%.*s", (int)(end - listen - 1), listen + 1);
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof host)
            goto bad;
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        port = colon + 1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    int rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, len, "http: listen \"%s\": %s", listen, gai_strerror(rc));
        return -1;
    }
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    *outlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
bad:
    snprintf(err, len, "http: listen \"%s\": expected HOST:PORT or [IPV6]:PORT", listen);
    return -1;
}

static int start_daemon(struct hp_http *h, char *err, size_t len)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    if (parse_listen(h->conf->listen, &sa, &salen, err, len) != 0)
        return -1;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (h->tls_cert)
        flags |= MHD_USE_TLS;
    unsigned threads = h->conf->http_threads > 0 ? (unsigned)h->conf->http_threads : 2;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL}, /* first, as MHD asks */
        {MHD_OPTION_SOCK_ADDR, 0, &sa},
        {MHD_OPTION_THREAD_POOL_SIZE, threads, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 256, NULL},
        {h->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, h->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, len, "http: cannot listen on %s (address in use, or a bad TLS key?)",
                 h->conf->listen);
        return -1;
    }
    return 0;
}

struct hp_http *hp_http_start(const struct hp_web_conf *conf, char *err, size_t len)
{
    struct hp_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, len, "http: out of memory");
        return NULL;
    }
    h->conf = conf;
    pthread_mutex_init(&h->auth_lock, NULL);
    if (pthread_key_create(&h->reader_key, close_reader) != 0) {
        snprintf(err, len, "http: pthread_key_create failed");
        goto fail;
    }
    h->key_live = true;
    if (find_static_dir(h, err, len) != 0 || load_pages(h, err, len) != 0 ||
        load_tls(h, err, len) != 0 || start_daemon(h, err, len) != 0)
        goto fail;
    hp_info("http: serving %s://%s", h->tls_cert ? "https" : "http", conf->listen);
    return h;
fail:
    hp_http_stop(h);
    return NULL;
}

void hp_http_stop(struct hp_http *h)
{
    if (!h)
        return;
    if (h->d) /* joins the workers: each closes its reader on exit */
        MHD_stop_daemon(h->d);
    if (h->key_live)
        pthread_key_delete(h->reader_key);
    pthread_mutex_destroy(&h->auth_lock);
    free(h->auth_ok);
    free(h->fleet_html);
    free(h->host_html);
    if (h->tls_key)
        explicit_bzero(h->tls_key, strlen(h->tls_key));
    free(h->tls_key);
    free(h->tls_cert);
    free(h);
}
