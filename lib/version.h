/* SPDX-License-Identifier: Apache-2.0 */
/* version.h -- the agent's version, in one place every layer may include
 * (the self-report, the session message, AMQP client properties). */
#ifndef HP_VERSION_H
#define HP_VERSION_H

#define HP_VERSION "0.1.0"

#endif
