/* base.h — everything in base/ at once: errors, arena, buffers, logging,
 * time, JSON helpers and string utilities. base/ knows nothing of siyu's
 * domains and depends only on libc, jansson and libsodium. */
#ifndef SY_BASE_H
#define SY_BASE_H
#include "err.h"
#include "arena.h"
#include "buf.h"
#include "log.h"
#include "clock.h"
#include "json.h"
#include "util.h"
#endif
