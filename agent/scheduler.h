/* scheduler.h -- one thread per reporter, each on its own absolute
 * CLOCK_MONOTONIC deadline. */
#ifndef HP_SCHEDULER_H
#define HP_SCHEDULER_H

#include "agent/agent.h"

/* Start a thread per reporter in a->reporters. Returns -1 if one failed
 * (those started keep running; call hp_scheduler_stop). */
int hp_scheduler_start(struct hp_agent *a);
/* Wake every reporter thread and join it. */
void hp_scheduler_stop(struct hp_agent *a);
/* --once: on the calling thread, prime the reporters that need it, wait
 * window_ms, then sample and publish each once. */
void hp_scheduler_once(struct hp_agent *a, int window_ms);
/* Sample reporter r once and publish the message (any thread that owns r). */
int hp_reporter_run(struct hp_reporter *r);

#endif
