/* SPDX-License-Identifier: Apache-2.0 */
/* exec.h -- the exec reporter type. It is not in the registry's list of
 * singletons (reporters/registry.c): `reporters.exec` is a list, and the
 * lifecycle makes one task per element, named by its `name`. */
#ifndef HP_EXEC_H
#define HP_EXEC_H

#include "reporters/reporter.h"

/* Most exec instances one configuration may have. */
#define HP_EXEC_MAX 32

extern const struct hp_reporter_ops hp_reporter_exec;
extern const struct hp_opt hp_exec_opts[];

/* The `name` of one element of reporters.exec, or NULL. */
const char *hp_exec_instance_name(const config_setting_t *cfg);

#endif
