/* SPDX-License-Identifier: Apache-2.0 */
/* crc32c.c -- table-driven CRC-32C (reflected polynomial 0x82f63b78).
 * The table is generated at compile time from the polynomial, so there is
 * no initialisation and no mutable state; tests/unit/test_spool.c checks
 * the standard check value. */
#include "lib/crc32c.h"

/* table[n] = CRC of the byte n: eight shift-and-conditional-xor steps with
 * the polynomial above. The compiler evaluates them (a constant
 * expression), so the table is still read-only data with no start-up code. */
#define STEP(c)  (((c) >> 1) ^ (0x82f63b78u & (0u - ((c)&1u))))
#define ENTRY(n) STEP(STEP(STEP(STEP(STEP(STEP(STEP(STEP((uint32_t)(n)))))))))
#define R4(n)    ENTRY(n), ENTRY((n) + 1), ENTRY((n) + 2), ENTRY((n) + 3)
#define R16(n)   R4(n), R4((n) + 4), R4((n) + 8), R4((n) + 12)
#define R64(n)   R16(n), R16((n) + 16), R16((n) + 32), R16((n) + 48)
static const uint32_t table[256] = {R64(0), R64(64), R64(128), R64(192)};

uint32_t hp_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    crc = ~crc;
    while (len--)
        crc = table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
    return ~crc;
}
