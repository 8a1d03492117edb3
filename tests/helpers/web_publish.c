/* SPDX-License-Identifier: Apache-2.0 */
/* web_publish.c -- publish test messages to a RabbitMQ exchange, to feed
 * hostpulse-web good and bad input (rabbitmq-c, publisher confirms):
 *
 *   web_publish URL EXCHANGE ROUTING_KEY < lines
 *
 * Each stdin line is one message body, except "@random N" (N random bytes)
 * and "@big N" (a JSON object padded to N bytes). Exits 0 once the broker
 * confirmed every message, 1 with the reason on stderr. */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *what)
{
    fprintf(stderr, "web_publish: %s\n", what);
    return 1;
}

static int ok(amqp_connection_state_t c)
{
    return amqp_get_rpc_reply(c).reply_type == AMQP_RESPONSE_NORMAL;
}

/* The body a line stands for (malloc'd), its length in *len. */
static char *body_of(char *line, size_t *len)
{
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n')
        line[--n] = '\0';
    long size = 0;
    char *b;
    if (sscanf(line, "@random %ld", &size) == 1 && size > 0 && (b = malloc((size_t)size))) {
        for (long i = 0; i < size; i++)
            b[i] = (char)(rand() & 0xff);
        *len = (size_t)size;
        return b;
    }
    if (sscanf(line, "@big %ld", &size) == 1 && size > 16 && (b = malloc((size_t)size))) {
        memset(b, 'x', (size_t)size);
        memcpy(b, "{\"v\":1,\"pad\":\"", 14);
        memcpy(b + size - 2, "\"}", 2);
        *len = (size_t)size;
        return b;
    }
    *len = n;
    return strdup(line);
}

/* Wait for the confirm of the one message in flight. */
static int wait_confirm(amqp_connection_state_t c)
{
    for (;;) {
        amqp_frame_t f;
        if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
            return -1;
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (f.payload.method.id == AMQP_BASIC_NACK_METHOD)
            return -1;
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD)
            return 0;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return die("usage: web_publish URL EXCHANGE ROUTING_KEY < lines");
    char *url = strdup(argv[1]);
    struct amqp_connection_info ci;
    if (!url || amqp_parse_url(url, &ci) != AMQP_STATUS_OK)
        return die("bad URL");
    if (!*ci.vhost)
        ci.vhost = "/";
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (!s || amqp_socket_open(s, ci.host, ci.port) != AMQP_STATUS_OK)
        return die("cannot connect");
    if (amqp_login(c, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password)
            .reply_type != AMQP_RESPONSE_NORMAL)
        return die("login failed");
    amqp_channel_open(c, 1);
    if (!ok(c))
        return die("channel open failed");
    amqp_confirm_select(c, 1);
    if (!ok(c))
        return die("confirm.select failed");
    amqp_basic_properties_t p = {._flags = AMQP_BASIC_DELIVERY_MODE_FLAG, .delivery_mode = 2};
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, stdin) > 0) {
        size_t len;
        char *b = body_of(line, &len);
        if (!b)
            return die("out of memory");
        amqp_bytes_t body = {.len = len, .bytes = b};
        if (amqp_basic_publish(c, 1, amqp_cstring_bytes(argv[2]), amqp_cstring_bytes(argv[3]), 0, 0,
                               &p, body) != AMQP_STATUS_OK)
            return die("publish failed");
        free(b);
        n++;
        if (wait_confirm(c) != 0) /* one at a time: simple and certain */
            return die("the broker did not confirm a message");
    }
    free(line);
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    free(url);
    printf("%d\n", n);
    return 0;
}
