/* SPDX-License-Identifier: Apache-2.0 */
/* crc32c.h -- CRC-32C (Castagnoli), the checksum of every spool record.
 *
 * Debian 12 ships no C library for CRC-32C (only python3-crc32c), so this
 * is a small table-driven (slicing-by-1) implementation: ample for the
 * spool's few MB/s. Same polynomial and check value as iSCSI/ext4:
 * hp_crc32c(0, "123456789", 9) == 0xe3069283. */
#ifndef HP_CRC32C_H
#define HP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue crc (0 to start) over buf[0..len). This function can't fail. */
uint32_t hp_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
