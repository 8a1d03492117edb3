/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_msg.c -- libFuzzer target: hp_msg_parse (spool replay rebuilds
 * every message from its JSON) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hp_msg *m = hp_msg_parse((const char *)data, size);
    if (m) {
        /* the copy is exact and NUL-terminated */
        if (m->len != size || memcmp(m->json, data, size) != 0 || m->json[size] != '\0')
            __builtin_trap();
        hp_msg_unref(m);
    }
    return 0;
}
