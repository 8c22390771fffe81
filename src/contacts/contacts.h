/* contacts.h — the lead library (总金库): contacts, identities, custom
 * attributes, staff relations (owner + followers), consent, follow-up records,
 * timeline, the lead pool (公海) with recycling, departure handover, merge and
 * unmerge, CSV import and export.
 *
 * Every read and write is filtered by the caller's data scope inside the
 * store queries (see sy_actor in staff.h), so no route can reach a contact
 * outside it. The module owns its tables and HTTP routes. */
#ifndef SY_CONTACTS_H
#define SY_CONTACTS_H

#include <stdint.h>
#include <stddef.h>
#include "base/base.h"
#include "store/store.h"
#include "http/http.h"
#include "staff/staff.h"

typedef struct sy_contacts sy_contacts;

/* Creates the module. Starts the lead-recycling timer (checked every
 * recycle_check_ms; 0 → 60 s). Caller owns *out. */
int sy_contacts_create(sy_store *st, sy_staff *staff, int64_t recycle_check_ms, sy_contacts **out,
                       sy_err *e);
void sy_contacts_destroy(sy_contacts *c); /* NULL ok; stops the timer */
void sy_contacts_register(sy_contacts *c, sy_http *h);

/* Follows merge tombstones: *out is the live contact that id was merged
 * into (id itself when it was never merged). Ignores data scopes (for
 * modules that map stored ids, such as events). SY_E_NOT_FOUND when id does
 * not exist or belongs to an unpublished import. Any thread. */
int sy_contacts_canonical_id(sy_contacts *c, int64_t id, int64_t *out, sy_err *e);

/* Phone normalisation (china-data.md §4.2): strips spaces, dashes,
 * parentheses, full-width digits; strips +86/0086/86 when 13 digits result;
 * mainland mobiles must match ^1[3-9]\d{9}$ and become "+86XXXXXXXXXXX";
 * other numbers must be "+" followed by 8–15 digits (E.164). Writes the
 * E.164 form into out (>= 20 bytes). Errors: SY_E_INVALID with the value quoted. */
int sy_phone_normalize(const char *in, char *out, size_t n, sy_err *e);
/* Masks an E.164 phone for display: "+8613812345678" → "138****5678". */
void sy_phone_mask(const char *e164, char *out, size_t n);
/* Light email check: one @, non-empty local part, a dot in the domain, no spaces. */
int sy_email_valid(const char *s);

/* Demo data: n contacts (with identities, owners among demo staff, stores,
 * follow-up states, followers, notes, consent, channels), deterministic for
 * seed, committed in chunks. */
int sy_contacts_demo_seed(sy_contacts *c, const sy_staff_demo *staff, uint64_t seed, size_t n,
                          sy_err *e);

/* CLI import/export (siyu import / siyu export) on a stopped or running
 * workspace, acting as the system (scope all, audited as "cli"). */
int sy_contacts_import_file(sy_contacts *c, const char *path, const char *encoding, int strict,
                            const char *dedupe, sy_buf *report, sy_err *e);
int sy_contacts_export_file(sy_contacts *c, const char *path, int unmask, size_t *rows, sy_err *e);

#endif
