/* contacts_import.c — CSV import of leads.
 *
 * Pipeline: decode + parse the whole file (csv/), map headers to fields,
 * validate every row (nothing is written for a bad row), then stage rows in
 * chunks of SY_CONTACTS_CHUNK, each chunk one short write job:
 *
 *   - a row whose identities (phone, email, ids) match no contact is inserted
 *     as a new contact carrying pending_import = the import id. Such rows are
 *     invisible to every query (SY_CONTACT_LIVE) until the import is
 *     published;
 *   - a row matching an existing contact is skipped (dedupe=skip) or its
 *     values are queued in contact_import_updates (dedupe=update).
 *
 * Publishing is one tiny transaction that sets contact_imports.published_at:
 * that instant every new contact appears at once. Queued updates are then
 * applied in chunks and pending_import is cleared in chunks; both steps are
 * resumed at start-up if the process died (roll-forward), so after any crash
 * an import is either entirely absent (never published: its staged rows are
 * purged at start) or entirely present. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include "contacts_int.h"
#include "csv/csv.h"

#define MAX_COLUMNS 200
#define PREVIEW_ROWS 20
#define MAX_ERRORS_KEPT 100000

/* Target fields a column can map to. */
enum {
    M_IGNORE = 0,
    M_NAME,
    M_PHONE,
    M_EMAIL,
    M_GENDER,
    M_BIRTHDAY,
    M_CITY,
    M_COMPANY,
    M_SOURCE,
    M_OWNER,
    M_OWNER_ID,
    M_STORE,
    M_STORE_ID,
    M_STATUS,
    M_NOTE,
    M_IDENT,
    M_CONSENT,
    M_ATTR,
};
typedef struct field_name {
    const char *name;
    int kind;
} field_name;
static const field_name fields[] = {
    {"name", M_NAME},         {"phone", M_PHONE},       {"email", M_EMAIL},
    {"gender", M_GENDER},     {"birthday", M_BIRTHDAY}, {"city", M_CITY},
    {"company", M_COMPANY},   {"source", M_SOURCE},     {"owner", M_OWNER},
    {"owner_id", M_OWNER_ID}, {"store", M_STORE},       {"store_id", M_STORE_ID},
    {"status", M_STATUS},     {"note", M_NOTE},         {NULL, 0},
};

/* Header spellings recognised automatically (compared after trimming and
 * lowercasing ASCII). */
static const struct {
    const char *header;
    const char *field;
} auto_map[] = {
    {"姓名", "name"},
    {"名字", "name"},
    {"客户姓名", "name"},
    {"客户名称", "name"},
    {"联系人", "name"},
    {"name", "name"},
    {"full name", "name"},
    {"fullname", "name"},
    {"手机号", "phone"},
    {"手机", "phone"},
    {"电话", "phone"},
    {"手机号码", "phone"},
    {"联系电话", "phone"},
    {"电话号码", "phone"},
    {"移动电话", "phone"},
    {"mobile", "phone"},
    {"phone", "phone"},
    {"phone number", "phone"},
    {"tel", "phone"},
    {"cell", "phone"},
    {"邮箱", "email"},
    {"电子邮箱", "email"},
    {"邮件", "email"},
    {"email", "email"},
    {"e-mail", "email"},
    {"mail", "email"},
    {"公司", "company"},
    {"公司名称", "company"},
    {"单位", "company"},
    {"company", "company"},
    {"城市", "city"},
    {"所在城市", "city"},
    {"city", "city"},
    {"性别", "gender"},
    {"gender", "gender"},
    {"sex", "gender"},
    {"生日", "birthday"},
    {"出生日期", "birthday"},
    {"birthday", "birthday"},
    {"birth date", "birthday"},
    {"dob", "birthday"},
    {"来源", "source"},
    {"来源渠道", "source"},
    {"渠道", "source"},
    {"source", "source"},
    {"channel", "source"},
    {"负责人", "owner"},
    {"跟进人", "owner"},
    {"归属人", "owner"},
    {"销售", "owner"},
    {"owner", "owner"},
    {"负责人id", "owner_id"},
    {"owner_id", "owner_id"},
    {"门店", "store"},
    {"所属门店", "store"},
    {"store", "store"},
    {"门店id", "store_id"},
    {"store_id", "store_id"},
    {"状态", "status"},
    {"跟进状态", "status"},
    {"status", "status"},
    {"备注", "note"},
    {"跟进记录", "note"},
    {"note", "note"},
    {"notes", "note"},
    {"remark", "note"},
    {"user_id", "identity:user_id"},
    {"userid", "identity:user_id"},
    {"用户id", "identity:user_id"},
    {"anonymous_id", "identity:anonymous_id"},
    {"unionid", "identity:wechat_unionid"},
    {"wechat_unionid", "identity:wechat_unionid"},
    {"openid", "identity:wechat_openid"},
    {"wechat_openid", "identity:wechat_openid"},
    {"external_userid", "identity:wecom_external_userid"},
    {"wecom_external_userid", "identity:wecom_external_userid"},
    {"device_id", "identity:device_id"},
    {"consent_wecom", "consent:wecom"},
    {"企微授权", "consent:wecom"},
    {"consent_sms", "consent:sms"},
    {"短信授权", "consent:sms"},
    {"consent_email", "consent:email"},
    {"邮件授权", "consent:email"},
    {"consent_phone", "consent:phone"},
    {"电话授权", "consent:phone"},
    {"id", "ignore"},
    {"创建时间", "ignore"},
    {"自定义属性", "ignore"},
};

/* One mapped column. */
typedef struct colmap {
    int kind;
    const char *arg;   /* identity type, consent channel or attribute key */
    const char *field; /* the field name as written in the mapping */
    const attr_def *def;
} colmap;

/* One row's problem for the report. */
typedef struct row_error {
    size_t line;
    const char *column;
    const char *reason;
} row_error;

/* A validated row. */
typedef struct irow {
    size_t line;
    int bad;
    contact_fields f;
} irow;

/* Small name → id caches so 100,000 rows do not each call into staff/. */
typedef struct name_cache {
    struct {
        const char *name;
        int64_t id, dept;
        int found;
    } v[256];
    size_t n;
} name_cache;

typedef struct channel_ref {
    char *name, *code;
    int64_t id;
} channel_ref;

/* Everything one import needs; lives in its own arena (a). */
typedef struct import_ctx {
    sy_contacts *c;
    sy_arena *a;
    const sy_actor *actor;
    int64_t id; /* import id (0 for dry runs and previews) */
    int strict, dedupe_update, dry_run;
    sy_csv csv;
    colmap *cols;
    size_t ncols;
    json_t *mapping_json; /* header → field used (owned) */
    attr_defs defs;
    channel_ref *channels;
    size_t nchannels;
    name_cache owners, stores;
    irow *rows;
    size_t nrows;
    row_error *errs;
    size_t nerrs, caperrs;
    size_t errs_written;
    /* counters */
    size_t done, imported, updated, skipped, rejected;
    int64_t now;
} import_ctx;

/* A background import. */
typedef struct import_job {
    import_ctx *ctx;
    pthread_t th;
    int done, waiters;
    struct import_job *next;
} import_job;

static void add_error(import_ctx *x, size_t line, const char *col, const char *reason) {
    if (x->nerrs == x->caperrs) {
        size_t cap = x->caperrs ? x->caperrs * 2 : 64;
        row_error *nv = sy_alloc(x->a, cap * sizeof *nv);
        if (x->nerrs) memcpy(nv, x->errs, x->nerrs * sizeof *nv);
        x->errs = nv;
        x->caperrs = cap;
    }
    if (x->nerrs >= MAX_ERRORS_KEPT) return;
    x->errs[x->nerrs].line = line;
    x->errs[x->nerrs].column = col ? sy_strdup(x->a, col) : "";
    x->errs[x->nerrs].reason = sy_strdup(x->a, reason);
    x->nerrs++;
}

static char *trim(sy_arena *a, const char *s) {
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return sy_strndup(a, s, n);
}

static char *lower_ascii(sy_arena *a, const char *s) {
    char *t = trim(a, s);
    for (char *p = t; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    /* a trailing "*" marks required columns in many templates */
    size_t n = strlen(t);
    if (n && t[n - 1] == '*') t[n - 1] = 0;
    return t;
}

/* Parses a field name ("phone", "identity:user_id", "attr:level", "ignore")
 * into cm. */
static int parse_field(import_ctx *x, const char *field, colmap *cm, sy_err *e) {
    memset(cm, 0, sizeof *cm);
    cm->field = sy_strdup(x->a, field);
    if (strcmp(field, "ignore") == 0) return 0;
    for (const field_name *f = fields; f->name; f++)
        if (strcmp(f->name, field) == 0) {
            cm->kind = f->kind;
            return 0;
        }
    if (sy_startswith(field, "identity:")) {
        const char *t = field + 9;
        if (!sy_contacts_identity_type_valid(t)) goto bad;
        cm->kind = strcmp(t, "phone") == 0 ? M_PHONE : strcmp(t, "email") == 0 ? M_EMAIL : M_IDENT;
        cm->arg = sy_strdup(x->a, t);
        return 0;
    }
    if (sy_startswith(field, "consent:")) {
        if (!sy_contacts_in_list(sy_consent_channels, field + 8)) goto bad;
        cm->kind = M_CONSENT;
        cm->arg = sy_strdup(x->a, field + 8);
        return 0;
    }
    if (sy_startswith(field, "attr:")) {
        const attr_def *d = sy_contacts_find_def(&x->defs, field + 5);
        if (!d)
            return sy_err_field(e, SY_E_INVALID, "mapping",
                                "mapping names attribute \"%s\", which is not defined", field + 5);
        cm->kind = M_ATTR;
        cm->arg = d->key;
        cm->def = d;
        return 0;
    }
bad:
    return sy_err_field(e, SY_E_INVALID, "mapping",
                        "mapping field \"%s\" is not one of name, phone, email, gender, birthday, "
                        "city, company, source, "
                        "owner, owner_id, store, store_id, status, note, identity:<type>, "
                        "consent:<channel>, attr:<key>, ignore",
                        field);
}

/* Maps the header row: auto-mapping, then the caller's overrides. */
static int build_mapping(import_ctx *x, json_t *override, sy_err *e) {
    if (x->csv.n_rows == 0)
        return sy_err_set(e, SY_E_INVALID, "the file is empty: a header row is expected");
    sy_csv_row *h = &x->csv.rows[0];
    x->ncols = h->n;
    x->cols = sy_alloc(x->a, (h->n + 1) * sizeof *x->cols);
    x->mapping_json = json_object();
    for (size_t i = 0; i < h->n; i++) {
        const char *hdr = h->fields[i];
        char *key = lower_ascii(x->a, hdr);
        const char *field = "ignore";
        for (size_t k = 0; k < SY_ARRAY_LEN(auto_map); k++)
            if (strcmp(auto_map[k].header, key) == 0) {
                field = auto_map[k].field;
                break;
            }
        if (strcmp(field, "ignore") == 0)
            for (size_t k = 0; k < x->defs.n; k++)
                if (strcmp(x->defs.v[k].key, key) == 0 ||
                    strcmp(x->defs.v[k].label, trim(x->a, hdr)) == 0)
                    field = sy_sprintf(x->a, "attr:%s", x->defs.v[k].key);
        json_t *ov = override ? json_object_get(override, hdr) : NULL;
        if (ov) {
            if (json_is_null(ov))
                field = "ignore";
            else if (json_is_string(ov))
                field = json_string_value(ov);
            else
                return sy_err_field(e, SY_E_INVALID, "mapping",
                                    "mapping for \"%s\" must be a field name or null", hdr);
        }
        int rc = parse_field(x, field, &x->cols[i], e);
        if (rc) return rc;
        json_object_set_new(x->mapping_json, hdr,
                            x->cols[i].kind ? json_string(field) : json_null());
    }
    if (override) {
        const char *k;
        json_t *v;
        json_object_foreach(override, k, v) {
            int found = 0;
            for (size_t i = 0; i < h->n; i++)
                if (strcmp(h->fields[i], k) == 0) found = 1;
            if (!found)
                return sy_err_field(e, SY_E_INVALID, "mapping",
                                    "mapping names column \"%s\", which the file does not have", k);
        }
    }
    /* a field mapped twice would make one column silently win */
    int has_ident = 0;
    for (size_t i = 0; i < x->ncols; i++) {
        if (!x->cols[i].kind) continue;
        if (x->cols[i].kind == M_PHONE || x->cols[i].kind == M_EMAIL || x->cols[i].kind == M_IDENT)
            has_ident = 1;
        for (size_t j = 0; j < i; j++)
            if (x->cols[j].kind && strcmp(x->cols[j].field, x->cols[i].field) == 0)
                return sy_err_field(e, SY_E_INVALID, "mapping",
                                    "columns \"%s\" and \"%s\" both map to %s", h->fields[j],
                                    h->fields[i], x->cols[i].field);
    }
    if (!has_ident)
        return sy_err_field(
            e, SY_E_INVALID, "mapping",
            "no column maps to phone, email or another identity; name the columns (手机号, 邮箱 …) "
            "or pass mapping");
    return 0;
}

static int load_context(import_ctx *x, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(x->c->st, &db, e);
    if (rc) return rc;
    rc = sy_contacts_load_defs(db, x->a, &x->defs, e);
    sy_stmt *st;
    if (rc == 0 &&
        (rc = sy_db_prepare(db, "SELECT id, name, code FROM contact_channels ORDER BY id", &st,
                            e)) == 0) {
        size_t cap = 16;
        x->channels = sy_alloc(x->a, cap * sizeof *x->channels);
        while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
            if (x->nchannels == cap) {
                channel_ref *nv = sy_alloc(x->a, cap * 2 * sizeof *nv);
                memcpy(nv, x->channels, cap * sizeof *nv);
                x->channels = nv;
                cap *= 2;
            }
            channel_ref *ch = &x->channels[x->nchannels++];
            ch->id = sy_stmt_col_int(st, 0);
            ch->name = sy_strdup(x->a, sy_stmt_col_text(st, 1));
            ch->code = sy_stmt_col_text(st, 2) ? sy_strdup(x->a, sy_stmt_col_text(st, 2)) : NULL;
        }
        sy_stmt_finalize(st);
        rc = rc < 0 ? rc : 0;
    }
    sy_store_read_end(x->c->st, db);
    return rc;
}

static int cache_find(import_ctx *x, name_cache *nc, const char *name, int is_store, int64_t *id,
                      int64_t *dept) {
    for (size_t i = 0; i < nc->n; i++)
        if (strcmp(nc->v[i].name, name) == 0) {
            *id = nc->v[i].id;
            *dept = nc->v[i].dept;
            return nc->v[i].found ? 0 : SY_E_NOT_FOUND;
        }
    sy_err e;
    int64_t v = 0, d = 0;
    int rc = is_store ? sy_staff_find_store(x->c->staff, name, &v, &e)
                      : sy_staff_find_by_name(x->c->staff, name, &v, &e);
    if (rc == 0 && !is_store) sy_staff_lookup(x->c->staff, v, &d, NULL, &e);
    if (nc->n < SY_ARRAY_LEN(nc->v)) {
        nc->v[nc->n].name = sy_strdup(x->a, name);
        nc->v[nc->n].id = v;
        nc->v[nc->n].dept = d;
        nc->v[nc->n].found = rc == 0;
        nc->n++;
    }
    *id = v;
    *dept = d;
    return rc;
}

static int parse_yesno(const char *s, const char **status) {
    static const char *const yes[] = {"是", "同意",    "已同意", "yes", "y",    "true",
                                      "1",  "granted", "Y",      "YES", "TRUE", NULL};
    static const char *const no[] = {"否", "拒绝",      "不同意", "no", "n",     "false",
                                     "0",  "withdrawn", "N",      "NO", "FALSE", NULL};
    if (sy_contacts_in_list(yes, s))
        *status = "granted";
    else if (sy_contacts_in_list(no, s))
        *status = "withdrawn";
    else
        return SY_E_INVALID;
    return 0;
}

static void json_release(void *p) {
    json_decref(p);
}

/* Validates one data row into r; problems go to the report. */
static void validate_row(import_ctx *x, const sy_csv_row *row, irow *r) {
    sy_arena *a = x->a;
    contact_fields *f = &r->f;
    memset(r, 0, sizeof *r);
    r->line = row->line;
    char msg[600];
    sy_err e;
    const char *const *hdr = (const char *const *)x->csv.rows[0].fields;
    if (row->n > x->ncols) {
        for (size_t i = x->ncols; i < row->n; i++)
            if (row->fields[i][0]) {
                snprintf(msg, sizeof msg, "row has %zu columns, the header has %zu", row->n,
                         x->ncols);
                add_error(x, row->line, "", msg);
                r->bad = 1;
                return;
            }
    }
    size_t nident = 0, ncons = 0;
    f->idents = sy_alloc(a, (x->ncols + 1) * sizeof *f->idents);
    f->consent = sy_alloc(a, 5 * sizeof *f->consent);
    for (size_t i = 0; i < x->ncols && i < row->n; i++) {
        const colmap *cm = &x->cols[i];
        if (!cm->kind) continue;
        char *v = trim(a, row->fields[i]);
        if (!*v) continue;
        const char *col = hdr[i];
        int bad = 0;
        sy_err_clear(&e);
        switch (cm->kind) {
        case M_NAME:
            f->name = v;
            f->set |= F_NAME;
            if (strlen(v) > 200) {
                bad = 1;
                snprintf(msg, sizeof msg, "name is longer than 200 bytes");
            }
            break;
        case M_CITY:
            f->city = v;
            f->set |= F_CITY;
            break;
        case M_COMPANY:
            f->company = v;
            f->set |= F_COMPANY;
            break;
        case M_NOTE:
            f->note = v;
            break;
        case M_PHONE: {
            char p[32];
            if (sy_phone_normalize(v, p, sizeof p, &e)) {
                bad = 1;
                snprintf(msg, sizeof msg, "%s", e.msg);
            } else {
                f->phone = sy_strdup(a, p);
                f->set |= F_PHONE;
            }
            break;
        }
        case M_EMAIL: {
            char *m;
            if (sy_contacts_identity_normalize(a, "email", v, &m, &e)) {
                bad = 1;
                snprintf(msg, sizeof msg, "%s", e.msg);
            } else {
                f->email = m;
                f->set |= F_EMAIL;
            }
            break;
        }
        case M_GENDER:
            if (sy_contacts_gender_parse(v, &f->gender)) {
                bad = 1;
                snprintf(msg, sizeof msg, "gender \"%s\" is not 男, 女, male, female or unknown",
                         v);
            } else
                f->set |= F_GENDER;
            break;
        case M_BIRTHDAY: {
            char d[16];
            if (sy_contacts_date_parse(v, d, sizeof d)) {
                bad = 1;
                snprintf(msg, sizeof msg, "birthday \"%s\" is not a date (YYYY-MM-DD)", v);
            } else {
                f->birthday = sy_strdup(a, d);
                f->set |= F_BIRTHDAY;
            }
            break;
        }
        case M_STATUS:
            if (sy_contacts_status_parse(v, &f->status)) {
                bad = 1;
                snprintf(msg, sizeof msg,
                         "status \"%s\" is not one of 待跟进, 跟进中, 已成交, 无意向, 已流失", v);
            } else
                f->set |= F_STATUS;
            break;
        case M_SOURCE: {
            int64_t id = 0;
            for (size_t k = 0; k < x->nchannels; k++)
                if (strcmp(x->channels[k].name, v) == 0 || sy_streq(x->channels[k].code, v))
                    id = x->channels[k].id;
            if (!id) {
                bad = 1;
                snprintf(msg, sizeof msg,
                         "source \"%s\" is not an acquisition channel (name or code)", v);
            } else {
                f->source_id = id;
                f->set |= F_SOURCE;
            }
            break;
        }
        case M_OWNER:
        case M_OWNER_ID: {
            int64_t id = 0, dept = 0;
            int rc;
            if (cm->kind == M_OWNER_ID) {
                rc = sy_parse_i64(v, &id);
                if (rc == 0) rc = sy_staff_lookup(x->c->staff, id, &dept, NULL, &e);
            } else {
                rc = cache_find(x, &x->owners, v, 0, &id, &dept);
            }
            if (rc) {
                bad = 1;
                snprintf(msg, sizeof msg, "owner \"%s\" is not an active staff member", v);
            } else {
                f->owner_id = id;
                f->department_id = dept;
                f->set |= F_OWNER;
            }
            break;
        }
        case M_STORE:
        case M_STORE_ID: {
            int64_t id = 0, dummy;
            int rc;
            if (cm->kind == M_STORE_ID) {
                rc = sy_parse_i64(v, &id);
                if (rc == 0) rc = sy_staff_store_exists(x->c->staff, id, &e);
            } else {
                rc = cache_find(x, &x->stores, v, 1, &id, &dummy);
            }
            if (rc) {
                bad = 1;
                snprintf(msg, sizeof msg, "store \"%s\" is not a store (name or code)", v);
            } else {
                f->store_id = id;
                f->set |= F_STORE;
            }
            break;
        }
        case M_IDENT: {
            char *nv;
            if (sy_csv_is_excel_mangled(v)) {
                bad = 1;
                snprintf(
                    msg, sizeof msg,
                    "%s \"%s\" was turned into scientific notation by Excel; its digits are lost",
                    cm->arg, v);
            } else if (sy_contacts_identity_normalize(a, cm->arg, v, &nv, &e)) {
                bad = 1;
                snprintf(msg, sizeof msg, "%s", e.msg);
            } else {
                f->idents[nident].type = cm->arg;
                f->idents[nident++].value = nv;
            }
            break;
        }
        case M_CONSENT: {
            const char *st;
            if (parse_yesno(v, &st)) {
                bad = 1;
                snprintf(msg, sizeof msg, "consent \"%s\" is not 是/否 (yes/no)", v);
            } else if (ncons < 4) {
                contact_consent *cs = &f->consent[ncons++];
                cs->channel = cm->arg;
                cs->status = st;
                cs->source = "import";
                cs->purpose = "imported from CSV";
                cs->at = x->now;
            }
            break;
        }
        case M_ATTR: {
            json_t *jv = NULL;
            const attr_def *d = cm->def;
            if (strcmp(d->type, "number") == 0) {
                char *end;
                double dv = strtod(v, &end);
                if (*end || end == v)
                    jv = NULL;
                else
                    jv = json_real(dv);
                if (jv && dv == (double)(int64_t)dv && strchr(v, '.') == NULL) {
                    json_decref(jv);
                    jv = json_integer((json_int_t)dv);
                }
            } else if (strcmp(d->type, "bool") == 0) {
                const char *st;
                if (parse_yesno(v, &st) == 0) jv = json_boolean(strcmp(st, "granted") == 0);
            } else if (strcmp(d->type, "date") == 0) {
                char dd[16];
                if (sy_contacts_date_parse(v, dd, sizeof dd) == 0) jv = json_string(dd);
            } else {
                jv = json_string(v);
            }
            if (!jv || sy_contacts_attr_check(d, jv, cm->field, &e)) {
                bad = 1;
                if (!jv)
                    snprintf(msg, sizeof msg, "attribute \"%s\" value \"%s\" is not a %s", d->key,
                             v, d->type);
                else
                    snprintf(msg, sizeof msg, "%s", e.msg);
                json_decref(jv);
            } else {
                if (!f->attrs) {
                    f->attrs = json_object();
                    sy_arena_on_destroy(a, json_release, f->attrs);
                    f->set |= F_ATTRS;
                }
                json_object_set_new(f->attrs, d->key, jv);
            }
            break;
        }
        default:
            break;
        }
        if (bad) {
            add_error(x, row->line, col, msg);
            r->bad = 1;
        }
    }
    f->n_idents = nident;
    f->n_consent = ncons;
    if (r->bad) return;
    if (!f->phone && !f->email && !nident) {
        add_error(x, row->line, "", "row has no phone, email or other identity");
        r->bad = 1;
        return;
    }
    /* Without an owner column, an importer who only sees their own leads
     * keeps them (otherwise they would vanish from their view). */
    if (!(f->set & F_OWNER) && x->actor && x->actor->scope == SY_SCOPE_OWN && x->actor->staff_id) {
        f->owner_id = x->actor->staff_id;
        f->department_id = x->actor->department_id;
        f->set |= F_OWNER;
    }
}

static void validate_all(import_ctx *x, size_t max_rows) {
    size_t n = x->csv.n_rows > 0 ? x->csv.n_rows - 1 : 0;
    if (max_rows && n > max_rows) n = max_rows;
    x->rows = sy_alloc(x->a, (n + 1) * sizeof *x->rows);
    x->nrows = n;
    for (size_t i = 0; i < n; i++) {
        validate_row(x, &x->csv.rows[i + 1], &x->rows[i]);
        if (x->rows[i].bad) x->rejected++;
    }
}

/* --- staging (write jobs) --- */

typedef struct stage_stmts {
    sy_stmt *find, *ins, *ident, *cons, *note, *scope, *upd, *err, *progress;
} stage_stmts;

static void stmts_free(stage_stmts *s) {
    sy_stmt_finalize(s->find);
    sy_stmt_finalize(s->ins);
    sy_stmt_finalize(s->ident);
    sy_stmt_finalize(s->cons);
    sy_stmt_finalize(s->note);
    sy_stmt_finalize(s->scope);
    sy_stmt_finalize(s->upd);
    sy_stmt_finalize(s->err);
    sy_stmt_finalize(s->progress);
}

static int stmts_prepare(import_ctx *x, sy_db *db, stage_stmts *s, sy_err *e) {
    memset(s, 0, sizeof *s);
    int rc;
    if ((rc = sy_db_prepare(db,
                            "SELECT ci.contact_id, c.pending_import, " SY_CONTACT_PUBLISHED(
                                "c") ", c.merged_into FROM "
                                     "contact_identities ci JOIN contacts c ON c.id = "
                                     "ci.contact_id WHERE ci.type = ? AND ci.value = ?",
                            &s->find, e)) ||
        (rc = sy_db_prepare(
             db,
             "INSERT INTO contacts(name, phone, phone_tail, email, gender, birthday, city, "
             "company, source_id, "
             "owner_id, department_id, store_id, status, attrs, created_at, updated_at, owned_at, "
             "last_follow_up_at, pending_import) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
             &s->ins, e)) ||
        (rc = sy_db_prepare(
             db,
             "INSERT INTO contact_identities(type, value, contact_id, created_at) VALUES (?,?,?,?)",
             &s->ident, e)) ||
        (rc = sy_db_prepare(db,
                            "INSERT OR REPLACE INTO contact_consent(contact_id, channel, status, "
                            "at, source, purpose) "
                            "VALUES (?,?,?,?,?,?)",
                            &s->cons, e)) ||
        (rc = sy_db_prepare(db,
                            "INSERT INTO contact_timeline(contact_id, kind, at, by_staff, data) "
                            "VALUES (?, 'follow_up', ?, ?, ?)",
                            &s->note, e)) ||
        (rc = sy_db_prepare(db,
                            sy_sprintf(x->a, "SELECT 1 FROM contacts c WHERE c.id = ? AND %s",
                                       sy_contacts_scope_sql(x->a, x->actor, "c")),
                            &s->scope, e)) ||
        (rc = sy_db_prepare(db,
                            "INSERT INTO contact_import_updates(import_id, contact_id, line, data) "
                            "VALUES (?,?,?,?)",
                            &s->upd, e)) ||
        (rc = sy_db_prepare(
             db, "INSERT INTO contact_import_errors(import_id, line, col, reason) VALUES (?,?,?,?)",
             &s->err, e)) ||
        (rc = sy_db_prepare(db,
                            "UPDATE contact_imports SET rows_done = ?, imported = ?, updated = ?, "
                            "skipped = ?, rejected = ? "
                            "WHERE id = ?",
                            &s->progress, e))) {
        stmts_free(s);
        return rc;
    }
    return 0;
}

static int step_done(sy_stmt *st, sy_err *e) {
    int rc = sy_stmt_step(st, e);
    sy_stmt_reset(st);
    return rc < 0 ? rc : 0;
}

/* Serialises a row's values for a queued update (re-validated on apply). */
static json_t *fields_json(const contact_fields *f) {
    json_t *o = json_object();
    if (f->set & F_NAME) json_object_set_new(o, "name", json_string(f->name));
    if (f->set & F_PHONE) json_object_set_new(o, "phone", json_string(f->phone));
    if (f->set & F_EMAIL) json_object_set_new(o, "email", json_string(f->email));
    if (f->set & F_GENDER) json_object_set_new(o, "gender", json_string(f->gender));
    if (f->set & F_BIRTHDAY) json_object_set_new(o, "birthday", json_string(f->birthday));
    if (f->set & F_CITY) json_object_set_new(o, "city", json_string(f->city));
    if (f->set & F_COMPANY) json_object_set_new(o, "company", json_string(f->company));
    if (f->set & F_SOURCE) json_object_set_new(o, "source_id", json_integer(f->source_id));
    if (f->set & F_OWNER) {
        json_object_set_new(o, "owner_id", json_integer(f->owner_id));
        json_object_set_new(o, "_department_id", json_integer(f->department_id));
    }
    if (f->set & F_STORE) json_object_set_new(o, "store_id", json_integer(f->store_id));
    if (f->set & F_STATUS) json_object_set_new(o, "status", json_string(f->status));
    if (f->set & F_ATTRS) json_object_set(o, "attributes", f->attrs);
    if (f->note) json_object_set_new(o, "note", json_string(f->note));
    if (f->n_idents) {
        json_t *arr = json_array();
        for (size_t i = 0; i < f->n_idents; i++)
            json_array_append_new(arr, json_pack("{s:s,s:s}", "type", f->idents[i].type, "value",
                                                 f->idents[i].value));
        json_object_set_new(o, "identities", arr);
    }
    if (f->n_consent) {
        json_t *arr = json_array();
        for (size_t i = 0; i < f->n_consent; i++)
            json_array_append_new(
                arr, json_pack("{s:s,s:s,s:s,s:s,s:I}", "channel", f->consent[i].channel, "status",
                               f->consent[i].status, "source", f->consent[i].source, "purpose",
                               f->consent[i].purpose, "at", (json_int_t)f->consent[i].at));
        json_object_set_new(o, "consent", arr);
    }
    return o;
}

/* Applies a queued update (or an in-file duplicate) to contact id. */
static int apply_update(sy_db *db, const sy_actor *actor, const attr_defs *defs, int64_t id,
                        json_t *data, int64_t now, sy_err *e) {
    sy_arena *a = sy_arena_create();
    json_t *d = json_deep_copy(data);
    int64_t dept = json_integer_value(json_object_get(d, "_department_id"));
    json_object_del(d, "_department_id");
    contact_fields f;
    int rc = sy_contacts_parse_fields(a, d, defs, 1, &f, e);
    if (rc == 0) {
        f.department_id = dept;
        rc = sy_contacts_apply(db, actor, id, &f, "import", 1, now, e);
    }
    for (size_t i = 0; rc == 0 && i < f.n_idents; i++) {
        sy_err ign;
        sy_contacts_add_identity(db, id, f.idents[i].type, f.idents[i].value, now,
                                 &ign); /* clash: leave it */
    }
    for (size_t i = 0; rc == 0 && i < f.n_consent; i++)
        rc = sy_contacts_set_consent(db, id, &f.consent[i], e);
    if (rc == 0 && f.note) {
        json_t *n = json_pack("{s:s}", "note", f.note);
        rc = sy_contacts_timeline_add(db, id, "follow_up", actor ? actor->staff_id : 0, n, now, e);
        json_decref(n);
    }
    json_decref(d);
    sy_arena_destroy(a);
    return rc;
}

typedef struct stage_job {
    import_ctx *x;
    size_t from, to;
    int abort_strict; /* set when a strict import must stop */
} stage_job;

static void stage_reject(import_ctx *x, stage_job *j, irow *r, const char *reason) {
    add_error(x, r->line, "", reason);
    r->bad = 1;
    x->rejected++;
    if (x->strict) j->abort_strict = 1;
}

static int stage_row(import_ctx *x, sy_db *db, stage_stmts *s, stage_job *j, irow *r, sy_err *e) {
    contact_fields *f = &r->f;
    /* every identity of the row, phone and email first */
    contact_ident ids[40];
    size_t n = 0;
    if (f->phone) ids[n++] = (contact_ident){"phone", f->phone};
    if (f->email) ids[n++] = (contact_ident){"email", f->email};
    for (size_t i = 0; i < f->n_idents && n < 40; i++)
        ids[n++] = f->idents[i];
    int64_t match = 0, match_pending = 0;
    int match_visible = 0;
    for (size_t i = 0; i < n; i++) {
        sy_stmt_bind_text(s->find, 1, ids[i].type);
        sy_stmt_bind_text(s->find, 2, ids[i].value);
        int rc = sy_stmt_step(s->find, e);
        if (rc < 0) {
            sy_stmt_reset(s->find);
            return rc;
        }
        if (rc == SY_ROW) {
            int64_t cid = sy_stmt_col_int(s->find, 0);
            if (match && cid != match) {
                sy_stmt_reset(s->find);
                stage_reject(
                    x, j, r,
                    "the row's identities (phone, email …) belong to different existing contacts");
                return 0;
            }
            match = cid;
            match_pending = sy_stmt_col_int(s->find, 1);
            match_visible = (int)sy_stmt_col_int(s->find, 2);
        }
        sy_stmt_reset(s->find);
    }
    if (!match) {
        /* a new contact, invisible until publish */
        char tail[8] = "";
        char *attrs = f->attrs ? sy_json_dump(f->attrs) : NULL;
        sy_stmt *st = s->ins;
        sy_stmt_bind_text(st, 1, f->name);
        sy_stmt_bind_text(st, 2, f->phone);
        if (f->phone) {
            memcpy(tail, f->phone + strlen(f->phone) - 4, 5);
            sy_stmt_bind_text(st, 3, tail);
        }
        sy_stmt_bind_text(st, 4, f->email);
        sy_stmt_bind_text(st, 5, f->gender ? f->gender : "unknown");
        sy_stmt_bind_text(st, 6, f->birthday);
        sy_stmt_bind_text(st, 7, f->city);
        sy_stmt_bind_text(st, 8, f->company);
        if (f->source_id) sy_stmt_bind_int(st, 9, f->source_id);
        if (f->owner_id) {
            sy_stmt_bind_int(st, 10, f->owner_id);
            if (f->department_id) sy_stmt_bind_int(st, 11, f->department_id);
            sy_stmt_bind_int(st, 17, x->now);
        }
        if (f->store_id) sy_stmt_bind_int(st, 12, f->store_id);
        sy_stmt_bind_text(st, 13, f->status ? f->status : "pending");
        sy_stmt_bind_text(st, 14, attrs);
        sy_stmt_bind_int(st, 15, x->now);
        sy_stmt_bind_int(st, 16, x->now);
        if (f->note) sy_stmt_bind_int(st, 18, x->now);
        sy_stmt_bind_int(st, 19, x->id);
        int rc = step_done(st, e);
        free(attrs);
        if (rc) return rc;
        int64_t id = sy_db_last_id(db);
        for (size_t i = 0; i < n; i++) {
            sy_stmt_bind_text(s->ident, 1, ids[i].type);
            sy_stmt_bind_text(s->ident, 2, ids[i].value);
            sy_stmt_bind_int(s->ident, 3, id);
            sy_stmt_bind_int(s->ident, 4, x->now);
            if ((rc = step_done(s->ident, e))) {
                if (rc != SY_E_CONFLICT) return rc;
                /* the same identity twice in one row (e.g. two id columns) */
            }
        }
        for (size_t i = 0; i < f->n_consent; i++) {
            sy_stmt_bind_int(s->cons, 1, id);
            sy_stmt_bind_text(s->cons, 2, f->consent[i].channel);
            sy_stmt_bind_text(s->cons, 3, f->consent[i].status);
            sy_stmt_bind_int(s->cons, 4, f->consent[i].at);
            sy_stmt_bind_text(s->cons, 5, f->consent[i].source);
            sy_stmt_bind_text(s->cons, 6, f->consent[i].purpose);
            if ((rc = step_done(s->cons, e))) return rc;
        }
        if (f->note) {
            json_t *d = json_pack("{s:s,s:I}", "note", f->note, "import_id", (json_int_t)x->id);
            char *txt = sy_json_dump(d);
            json_decref(d);
            sy_stmt_bind_int(s->note, 1, id);
            sy_stmt_bind_int(s->note, 2, x->now);
            if (x->actor && x->actor->staff_id) sy_stmt_bind_int(s->note, 3, x->actor->staff_id);
            sy_stmt_bind_text(s->note, 4, txt);
            rc = step_done(s->note, e);
            free(txt);
            if (rc) return rc;
        }
        x->imported++;
        return 0;
    }
    if (match_pending == x->id) {
        /* the same person appears twice in this file */
        if (!x->dedupe_update) {
            x->skipped++;
            return 0;
        }
        json_t *d = fields_json(f);
        int rc = apply_update(db, x->actor, &x->defs, match, d, x->now, e);
        json_decref(d);
        if (rc == SY_E_INVALID || rc == SY_E_CONFLICT) {
            stage_reject(x, j, r, e->msg);
            return 0;
        }
        if (rc == 0) x->updated++;
        return rc;
    }
    if (!match_visible) {
        char m[120];
        snprintf(m, sizeof m, "an identity of this row is being imported by import %lld",
                 (long long)match_pending);
        stage_reject(x, j, r, m);
        return 0;
    }
    if (!x->dedupe_update) {
        x->skipped++;
        return 0;
    }
    sy_stmt_bind_int(s->scope, 1, match);
    int rc = sy_stmt_step(s->scope, e);
    sy_stmt_reset(s->scope);
    if (rc < 0) return rc;
    if (rc != SY_ROW) {
        /* exists, but outside the importer's data scope: never touched */
        x->skipped++;
        return 0;
    }
    json_t *d = fields_json(f);
    char *txt = sy_json_dump(d);
    json_decref(d);
    sy_stmt_bind_int(s->upd, 1, x->id);
    sy_stmt_bind_int(s->upd, 2, match);
    sy_stmt_bind_int(s->upd, 3, (int64_t)r->line);
    sy_stmt_bind_text(s->upd, 4, txt);
    rc = step_done(s->upd, e);
    free(txt);
    if (rc) return rc;
    x->updated++;
    return 0;
}

/* Writes report lines for errors of rows up to line `upto` not yet written. */
static int write_errors(import_ctx *x, stage_stmts *s, size_t upto, sy_err *e) {
    while (x->errs_written < x->nerrs && (upto == 0 || x->errs[x->errs_written].line <= upto)) {
        row_error *er = &x->errs[x->errs_written];
        sy_stmt_bind_int(s->err, 1, x->id);
        sy_stmt_bind_int(s->err, 2, (int64_t)er->line);
        sy_stmt_bind_text(s->err, 3, er->column);
        sy_stmt_bind_text(s->err, 4, er->reason);
        int rc = step_done(s->err, e);
        if (rc) return rc;
        x->errs_written++;
    }
    return 0;
}

static int stage_chunk(sy_db *db, void *arg, sy_err *e) {
    stage_job *j = arg;
    import_ctx *x = j->x;
    stage_stmts s;
    int rc = stmts_prepare(x, db, &s, e);
    if (rc) return rc;
    for (size_t i = j->from; i < j->to && rc == 0; i++) {
        irow *r = &x->rows[i];
        if (!r->bad) rc = stage_row(x, db, &s, j, r, e);
        x->done++;
    }
    if (rc == 0) {
        size_t upto = j->to < x->nrows ? x->rows[j->to].line - 1 : 0;
        rc = write_errors(x, &s, upto, e);
    }
    if (rc == 0) {
        sy_stmt_bind_int(s.progress, 1, (int64_t)x->done);
        sy_stmt_bind_int(s.progress, 2, (int64_t)x->imported);
        sy_stmt_bind_int(s.progress, 3, (int64_t)x->updated);
        sy_stmt_bind_int(s.progress, 4, (int64_t)x->skipped);
        sy_stmt_bind_int(s.progress, 5, (int64_t)x->rejected);
        sy_stmt_bind_int(s.progress, 6, x->id);
        rc = step_done(s.progress, e);
    }
    stmts_free(&s);
    return rc;
}

/* --- job records --- */

typedef struct record_job {
    import_ctx *x;
    const char *status;
    const char *error;
    int publish;
} record_job;

static int record_create(sy_db *db, void *arg, sy_err *e) {
    record_job *rj = arg;
    import_ctx *x = rj->x;
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "INSERT INTO contact_imports(created_at, by_staff, status, strict, "
                           "dedupe, encoding, mapping, "
                           "rows_total, pid) VALUES (?,?,?,?,?,?,?,?,?)",
                           &st, e);
    if (rc) return rc;
    char *map = sy_json_dump(x->mapping_json);
    sy_stmt_bind_int(st, 1, x->now);
    if (x->actor && x->actor->staff_id) sy_stmt_bind_int(st, 2, x->actor->staff_id);
    sy_stmt_bind_text(st, 3, "running");
    sy_stmt_bind_int(st, 4, x->strict);
    sy_stmt_bind_text(st, 5, x->dedupe_update ? "update" : "skip");
    sy_stmt_bind_text(st, 6, sy_csv_encoding_name(x->csv.encoding));
    sy_stmt_bind_text(st, 7, map);
    sy_stmt_bind_int(st, 8, (int64_t)x->nrows);
    sy_stmt_bind_int(st, 9, (int64_t)getpid());
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    free(map);
    if (rc < 0) return rc;
    x->id = sy_db_last_id(db);
    return 0;
}

static int record_finish(sy_db *db, void *arg, sy_err *e) {
    record_job *rj = arg;
    import_ctx *x = rj->x;
    stage_stmts s;
    int rc = stmts_prepare(x, db, &s, e);
    if (rc) return rc;
    rc = write_errors(x, &s, 0, e);
    stmts_free(&s);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(
             db,
             "UPDATE contact_imports SET status = ?, error = ?, rows_done = ?, imported = ?, "
             "updated = ?, "
             "skipped = ?, rejected = ?, published_at = CASE WHEN ? THEN ? ELSE published_at END, "
             "finished_at = CASE WHEN ? = 'publishing' THEN NULL ELSE ? END WHERE id = ?",
             &st, e)))
        return rc;
    sy_stmt_bind_text(st, 1, rj->status);
    sy_stmt_bind_text(st, 2, rj->error);
    sy_stmt_bind_int(st, 3, (int64_t)x->done);
    sy_stmt_bind_int(st, 4, (int64_t)x->imported);
    sy_stmt_bind_int(st, 5, (int64_t)x->updated);
    sy_stmt_bind_int(st, 6, (int64_t)x->skipped);
    sy_stmt_bind_int(st, 7, (int64_t)x->rejected);
    sy_stmt_bind_int(st, 8, rj->publish);
    sy_stmt_bind_int(st, 9, sy_now_ms());
    sy_stmt_bind_text(st, 10, rj->status);
    sy_stmt_bind_int(st, 11, sy_now_ms());
    sy_stmt_bind_int(st, 12, x->id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (rj->publish) {
        json_t *d = json_pack("{s:I,s:I,s:I,s:I,s:I}", "import_id", (json_int_t)x->id, "rows",
                              (json_int_t)x->nrows, "imported", (json_int_t)x->imported, "updated",
                              (json_int_t)x->updated, "rejected", (json_int_t)x->rejected);
        rc = sy_audit_record(db, x->actor, "contacts.import",
                             sy_sprintf(x->a, "import:%lld", (long long)x->id), d, e);
        json_decref(d);
    }
    return rc;
}

/* --- after publish: queued updates, then clearing pending_import --- */

typedef struct finish_job {
    sy_contacts *c;
    int64_t import_id;
    const sy_actor *actor;
    attr_defs *defs;
    size_t n;
} finish_job;

static int updates_chunk(sy_db *db, void *arg, sy_err *e) {
    finish_job *fj = arg;
    sy_stmt *st;
    fj->n = 0;
    int rc = sy_db_prepare(db,
                           "SELECT id, contact_id, data FROM contact_import_updates WHERE "
                           "import_id = ? ORDER BY id LIMIT 500",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, fj->import_id);
    int64_t last = 0, now = sy_now_ms();
    while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
        int64_t cid = sy_stmt_col_int(st, 1);
        json_t *d = json_loads(sy_stmt_col_text(st, 2), 0, NULL);
        last = sy_stmt_col_int(st, 0);
        int64_t live = cid;
        sy_arena *a = sy_arena_create();
        sy_err ign;
        /* the contact may have been merged meanwhile: follow it */
        if (d && sy_contacts_resolve(db, a, NULL, cid, &live, &ign) == 0) {
            int r2 = apply_update(db, fj->actor, fj->defs, live, d, now, &ign);
            if (r2 && r2 != SY_E_INVALID && r2 != SY_E_CONFLICT) {
                *e = ign;
                rc = r2;
            }
        }
        sy_arena_destroy(a);
        json_decref(d);
        if (rc < 0) break;
        fj->n++;
    }
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (fj->n) {
        if ((rc = sy_db_prepare(
                 db, "DELETE FROM contact_import_updates WHERE import_id = ? AND id <= ?", &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, fj->import_id);
        sy_stmt_bind_int(st, 2, last);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
    }
    return rc < 0 ? rc : 0;
}

static int clear_chunk(sy_db *db, void *arg, sy_err *e) {
    finish_job *fj = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(
        db,
        "UPDATE contacts SET pending_import = NULL WHERE id IN (SELECT id FROM contacts WHERE "
        "pending_import = ? LIMIT 10000)",
        &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, fj->import_id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    fj->n = (size_t)sy_db_changes(db);
    return rc < 0 ? rc : 0;
}

static int complete_job(sy_db *db, void *arg, sy_err *e) {
    finish_job *fj = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(
        db, "UPDATE contact_imports SET status = 'completed', finished_at = ? WHERE id = ?", &st,
        e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, sy_now_ms());
    sy_stmt_bind_int(st, 2, fj->import_id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

/* Purges the staged rows of an import that was never published. */
static int purge_chunk(sy_db *db, void *arg, sy_err *e) {
    finish_job *fj = arg;
    static const char *const sqls[] = {
        "DELETE FROM contact_identities WHERE contact_id IN (SELECT id FROM tmp_purge)",
        "DELETE FROM contact_consent WHERE contact_id IN (SELECT id FROM tmp_purge)",
        "DELETE FROM contact_followers WHERE contact_id IN (SELECT id FROM tmp_purge)",
        "DELETE FROM contact_timeline WHERE contact_id IN (SELECT id FROM tmp_purge)",
        "DELETE FROM contacts WHERE id IN (SELECT id FROM tmp_purge)",
    };
    int rc = sy_db_exec(
        db,
        "CREATE TEMP TABLE IF NOT EXISTS tmp_purge(id INTEGER PRIMARY KEY); DELETE FROM tmp_purge;",
        e);
    if (rc) return rc;
    sy_stmt *st;
    if ((rc = sy_db_prepare(db,
                            "INSERT INTO tmp_purge(id) SELECT id FROM contacts WHERE "
                            "pending_import = ? LIMIT 5000",
                            &st, e)))
        return rc;
    sy_stmt_bind_int(st, 1, fj->import_id);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    fj->n = (size_t)sy_db_changes(db);
    for (size_t i = 0; i < SY_ARRAY_LEN(sqls) && fj->n; i++)
        if ((rc = sy_db_exec(db, sqls[i], e))) return rc;
    if (fj->n == 0) {
        if ((rc = sy_db_prepare(db, "DELETE FROM contact_import_updates WHERE import_id = ?", &st,
                                e)))
            return rc;
        sy_stmt_bind_int(st, 1, fj->import_id);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
    }
    return sy_db_exec(db, "DELETE FROM tmp_purge", e);
}

static int run_chunks(sy_contacts *c, sy_write_job job, finish_job *fj, sy_err *e) {
    int rc;
    do {
        if ((rc = sy_store_write(c->st, job, fj, e))) return rc;
    } while (fj->n > 0);
    return 0;
}

/* Finishes a published import: queued updates, then visibility bookkeeping. */
static int finish_published(sy_contacts *c, int64_t import_id, const sy_actor *actor, sy_err *e) {
    sy_arena *a = sy_arena_create();
    attr_defs defs;
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc == 0) {
        rc = sy_contacts_load_defs(db, a, &defs, e);
        sy_store_read_end(c->st, db);
    }
    finish_job fj = {.c = c, .import_id = import_id, .actor = actor, .defs = &defs};
    if (rc == 0) rc = run_chunks(c, updates_chunk, &fj, e);
    if (rc == 0) rc = run_chunks(c, clear_chunk, &fj, e);
    if (rc == 0) rc = sy_store_write(c->st, complete_job, &fj, e);
    sy_arena_destroy(a);
    return rc;
}

static int purge_import(sy_contacts *c, int64_t import_id, sy_err *e) {
    finish_job fj = {.c = c, .import_id = import_id};
    return run_chunks(c, purge_chunk, &fj, e);
}

/* Stages, publishes and finishes x (x->id set). Returns 0 even when the
 * import failed for data reasons (its record says so). */
static int import_execute(import_ctx *x, sy_err *e) {
    int rc = 0;
    record_job rj = {.x = x};
    if (x->strict && x->rejected) {
        x->done = x->nrows;
        rj.status = "failed";
        rj.error = "strict mode: at least one row was rejected, nothing was imported";
        return sy_store_write(x->c->st, record_finish, &rj, e);
    }
    stage_job j = {.x = x};
    for (size_t from = 0; from < x->nrows; from += SY_CONTACTS_CHUNK) {
        j.from = from;
        j.to = from + SY_CONTACTS_CHUNK < x->nrows ? from + SY_CONTACTS_CHUNK : x->nrows;
        size_t before[4] = {x->imported, x->updated, x->skipped, x->rejected}, errs = x->nerrs,
               done = x->done;
        if ((rc = sy_store_write(x->c->st, stage_chunk, &j, e))) {
            /* the chunk rolled back: restore counters, then give up */
            x->imported = before[0], x->updated = before[1], x->skipped = before[2],
            x->rejected = before[3];
            x->nerrs = errs;
            x->done = done;
            break;
        }
        pthread_mutex_lock(&x->c->lock);
        int stopping = x->c->stopping;
        pthread_mutex_unlock(&x->c->lock);
        if (stopping) {
            rc = sy_err_set(e, SY_E_IO, "the server is stopping");
            break;
        }
        if (j.abort_strict) break;
    }
    if (rc || j.abort_strict) {
        sy_err pe;
        purge_import(x->c, x->id, &pe);
        rj.status = "failed";
        rj.error = rc ? sy_strdup(x->a, e->msg)
                      : "strict mode: at least one row was rejected, nothing was imported";
        x->imported = x->updated = 0;
        int r2 = sy_store_write(x->c->st, record_finish, &rj, e);
        return rc ? rc : r2;
    }
    rj.status = "publishing";
    rj.publish = 1;
    if ((rc = sy_store_write(x->c->st, record_finish, &rj, e))) return rc;
    pthread_mutex_lock(&x->c->lock);
    x->c->n_import_rows += (int64_t)(x->imported + x->updated);
    pthread_mutex_unlock(&x->c->lock);
    return finish_published(x->c, x->id, x->actor, e);
}

static void ctx_destroy(import_ctx *x) {
    if (!x) return;
    json_decref(x->mapping_json);
    sy_arena_destroy(x->a);
}

/* Decodes, parses and maps data into a new context. */
static int ctx_prepare(sy_contacts *c, const sy_actor *actor, const char *data, size_t n, int enc,
                       json_t *mapping, import_ctx **out, sy_err *e) {
    sy_arena *a = sy_arena_create();
    import_ctx *x = sy_alloc(a, sizeof *x);
    x->a = a;
    x->c = c;
    x->actor = actor ? sy_contacts_actor_copy(a, actor) : NULL;
    x->now = sy_now_ms();
    x->dedupe_update = 1;
    int rc = load_context(x, e);
    if (rc == 0) rc = sy_csv_read(a, data, n, enc, MAX_COLUMNS, &x->csv, e);
    if (rc == 0) rc = build_mapping(x, mapping, e);
    if (rc) {
        ctx_destroy(x);
        return rc;
    }
    *out = x;
    return 0;
}

/* Dry run: validates and classifies every row without writing. */
static int dry_run(import_ctx *x, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(x->c->st, &db, e);
    if (rc) return rc;
    sy_stmt *find = NULL, *scope = NULL;
    rc = sy_db_prepare(db,
                       "SELECT ci.contact_id FROM contact_identities ci JOIN contacts c ON c.id = "
                       "ci.contact_id WHERE "
                       "ci.type = ? AND ci.value = ? AND " SY_CONTACT_PUBLISHED("c"),
                       &find, e);
    if (rc == 0)
        rc = sy_db_prepare(db,
                           sy_sprintf(x->a, "SELECT 1 FROM contacts c WHERE c.id = ? AND %s",
                                      sy_contacts_scope_sql(x->a, x->actor, "c")),
                           &scope, e);
    /* identities seen earlier in the file: "type\x1fvalue" sorted list */
    size_t cap = 1024, nseen = 0;
    char **seen = malloc(cap * sizeof *seen);
    for (size_t i = 0; rc == 0 && i < x->nrows; i++) {
        irow *r = &x->rows[i];
        x->done++;
        if (r->bad) continue;
        contact_fields *f = &r->f;
        contact_ident ids[40];
        size_t n = 0;
        if (f->phone) ids[n++] = (contact_ident){"phone", f->phone};
        if (f->email) ids[n++] = (contact_ident){"email", f->email};
        for (size_t k = 0; k < f->n_idents && n < 40; k++)
            ids[n++] = f->idents[k];
        int64_t match = 0;
        int conflict = 0, dup = 0;
        for (size_t k = 0; k < n; k++) {
            sy_stmt_bind_text(find, 1, ids[k].type);
            sy_stmt_bind_text(find, 2, ids[k].value);
            if (sy_stmt_step(find, e) == SY_ROW) {
                int64_t cid = sy_stmt_col_int(find, 0);
                if (match && match != cid) conflict = 1;
                match = cid;
            }
            sy_stmt_reset(find);
            char *key = sy_sprintf(x->a, "%s\x1f%s", ids[k].type, ids[k].value);
            for (size_t s = 0; s < nseen && !dup; s++)
                if (nseen < 50000 && strcmp(seen[s], key) == 0) dup = 1;
            if (nseen == cap) {
                cap *= 2;
                seen = realloc(seen, cap * sizeof *seen);
            }
            if (nseen < 50000) seen[nseen++] = key;
        }
        if (conflict) {
            add_error(
                x, r->line, "",
                "the row's identities (phone, email …) belong to different existing contacts");
            x->rejected++;
        } else if (!match && !dup) {
            x->imported++;
        } else if (!x->dedupe_update) {
            x->skipped++;
        } else if (match) {
            sy_stmt_bind_int(scope, 1, match);
            if (sy_stmt_step(scope, e) == SY_ROW)
                x->updated++;
            else
                x->skipped++;
            sy_stmt_reset(scope);
        } else {
            x->updated++;
        }
    }
    free(seen);
    sy_stmt_finalize(find);
    sy_stmt_finalize(scope);
    sy_store_read_end(x->c->st, db);
    return rc;
}

static json_t *errors_json(import_ctx *x, size_t max) {
    json_t *arr = json_array();
    for (size_t i = 0; i < x->nerrs && i < max; i++)
        json_array_append_new(arr,
                              json_pack("{s:I,s:s,s:s}", "line", (json_int_t)x->errs[i].line,
                                        "column", x->errs[i].column, "reason", x->errs[i].reason));
    return arr;
}

/* --- record reads --- */

static int import_json(sy_db *db, int64_t id, const sy_actor *actor, json_t **out, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "SELECT id, created_at, by_staff, status, strict, dedupe, encoding, "
                           "mapping, rows_total, rows_done, "
                           "imported, updated, skipped, rejected, published_at, finished_at, error "
                           "FROM contact_imports "
                           "WHERE id = ?",
                           &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW) {
        int64_t by = sy_stmt_col_int(st, 2);
        /* imports are visible to their author and to people who see everything */
        if (actor && actor->scope != SY_SCOPE_ALL && by != actor->staff_id) {
            sy_stmt_finalize(st);
            return sy_err_set(e, SY_E_NOT_FOUND, "import %lld not found", (long long)id);
        }
        const char *map = sy_stmt_col_text(st, 7);
        json_t *m = map ? json_loads(map, 0, NULL) : NULL;
        *out = json_pack(
            "{s:I,s:I,s:o,s:s,s:b,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "id",
            (json_int_t)id, "created_at", (json_int_t)sy_stmt_col_int(st, 1), "by_staff_id",
            sy_contacts_jid(by), "status", sy_stmt_col_text(st, 3), "strict",
            (int)sy_stmt_col_int(st, 4), "dedupe", sy_stmt_col_text(st, 5), "encoding",
            sy_contacts_jstr(sy_stmt_col_text(st, 6)), "mapping", m ? m : json_object(),
            "rows_total", (json_int_t)sy_stmt_col_int(st, 8), "rows_done",
            (json_int_t)sy_stmt_col_int(st, 9), "imported", (json_int_t)sy_stmt_col_int(st, 10),
            "updated", (json_int_t)sy_stmt_col_int(st, 11), "skipped",
            (json_int_t)sy_stmt_col_int(st, 12), "rejected", (json_int_t)sy_stmt_col_int(st, 13),
            "published_at",
            sy_stmt_col_type(st, 14) == SY_NULL ? json_null()
                                                : json_integer(sy_stmt_col_int(st, 14)),
            "finished_at",
            sy_stmt_col_type(st, 15) == SY_NULL ? json_null()
                                                : json_integer(sy_stmt_col_int(st, 15)),
            "error", sy_contacts_jstr(sy_stmt_col_text(st, 16)));
    }
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (rc != SY_ROW) return sy_err_set(e, SY_E_NOT_FOUND, "import %lld not found", (long long)id);
    return 0;
}

int sy_contacts_import_get(sy_contacts *c, const sy_actor *actor, int64_t id, json_t **out,
                           sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    rc = import_json(db, id, actor, out, e);
    sy_store_read_end(c->st, db);
    return rc;
}

int sy_contacts_import_list(sy_contacts *c, const sy_actor *actor, json_t **out, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    sy_stmt *st;
    json_t *items = json_array();
    rc = sy_db_prepare(db, "SELECT id, by_staff FROM contact_imports ORDER BY id DESC LIMIT 100",
                       &st, e);
    if (rc == 0) {
        while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
            json_t *o;
            sy_err ign;
            if (import_json(db, sy_stmt_col_int(st, 0), actor, &o, &ign) == 0)
                json_array_append_new(items, o);
        }
        sy_stmt_finalize(st);
        rc = rc < 0 ? rc : 0;
    }
    sy_store_read_end(c->st, db);
    if (rc) {
        json_decref(items);
        return rc;
    }
    *out = json_pack("{s:o,s:I,s:n}", "items", items, "total", (json_int_t)json_array_size(items),
                     "next_cursor");
    return 0;
}

int sy_contacts_import_errors_csv(sy_contacts *c, const sy_actor *actor, int64_t id, sy_buf *out,
                                  sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    json_t *rec = NULL;
    rc = import_json(db, id, actor, &rec, e);
    json_decref(rec);
    sy_stmt *st;
    if (rc == 0 && (rc = sy_db_prepare(db,
                                       "SELECT line, col, reason FROM contact_import_errors WHERE "
                                       "import_id = ? ORDER BY line, rowid",
                                       &st, e)) == 0) {
        static const char *const hdr[] = {"line", "column", "reason"};
        sy_csv_write_bom(out);
        sy_csv_write_row(out, hdr, 3);
        sy_stmt_bind_int(st, 1, id);
        while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
            char line[24];
            snprintf(line, sizeof line, "%lld", (long long)sy_stmt_col_int(st, 0));
            const char *f[3] = {line, sy_stmt_col_text(st, 1) ? sy_stmt_col_text(st, 1) : "",
                                sy_stmt_col_text(st, 2)};
            sy_csv_write_row(out, f, 3);
        }
        sy_stmt_finalize(st);
        rc = rc < 0 ? rc : 0;
    }
    sy_store_read_end(c->st, db);
    return rc;
}

/* --- background jobs --- */

static void *job_main(void *arg) {
    import_job *j = arg;
    import_ctx *x = j->ctx;
    sy_err e;
    sy_err_clear(&e);
    sy_contacts_wait_recovered(x->c);
    pthread_mutex_lock(&x->c->import_lock);
    int rc = import_execute(x, &e);
    pthread_mutex_unlock(&x->c->import_lock);
    if (rc)
        sy_warn("msg=\"import failed\" import=%lld err=\"%s\"", (long long)x->id, e.msg);
    else
        sy_info("msg=\"import finished\" import=%lld rows=%zu imported=%zu updated=%zu skipped=%zu "
                "rejected=%zu",
                (long long)x->id, x->nrows, x->imported, x->updated, x->skipped, x->rejected);
    pthread_mutex_lock(&x->c->lock);
    j->done = 1;
    pthread_cond_broadcast(&x->c->cond);
    pthread_mutex_unlock(&x->c->lock);
    return NULL;
}

/* Joins and frees finished jobs nobody waits on. Caller holds c->lock. */
static void reap_locked(sy_contacts *c) {
    import_job **pp = &c->jobs;
    while (*pp) {
        import_job *j = *pp;
        if (j->done && !j->waiters) {
            *pp = j->next;
            pthread_join(j->th, NULL);
            ctx_destroy(j->ctx);
            free(j);
        } else {
            pp = &j->next;
        }
    }
}

void sy_contacts_import_join_all(sy_contacts *c) {
    pthread_mutex_lock(&c->lock);
    while (c->jobs) {
        import_job *j = c->jobs;
        c->jobs = j->next;
        pthread_mutex_unlock(&c->lock);
        pthread_join(j->th, NULL);
        ctx_destroy(j->ctx);
        free(j);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
}

static int mark_interrupted(sy_db *db, void *arg, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(
        db,
        "UPDATE contact_imports SET status = 'failed', finished_at = ?, error = 'interrupted: the "
        "server stopped before the import was published; nothing was imported' WHERE id = ? AND "
        "status IN ('running', 'publishing')",
        &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, sy_now_ms());
    sy_stmt_bind_int(st, 2, *(int64_t *)arg);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

/* Start-up: purge never-published imports, finish published ones. */
void sy_contacts_import_recover(sy_contacts *c) {
    pthread_mutex_lock(&c->import_lock);
    sy_db *db;
    sy_err e;
    int64_t ids[64];
    int published[64];
    size_t n = 0;
    if (sy_store_read_begin(c->st, &db, &e) == 0) {
        sy_stmt *st;
        if (sy_db_prepare(db,
                          "SELECT id, published_at IS NOT NULL, pid FROM contact_imports WHERE "
                          "status IN ('running', 'publishing') "
                          "OR id IN (SELECT DISTINCT pending_import FROM contacts WHERE "
                          "pending_import IS NOT NULL) "
                          "ORDER BY id LIMIT 64",
                          &st, &e) == 0) {
            while (sy_stmt_step(st, &e) == SY_ROW && n < 64) {
                /* another live process (a CLI import next to the server) owns it */
                pid_t pid = (pid_t)sy_stmt_col_int(st, 2);
                if (pid == getpid() || (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM))) continue;
                ids[n] = sy_stmt_col_int(st, 0);
                published[n++] = (int)sy_stmt_col_int(st, 1);
            }
            sy_stmt_finalize(st);
        }
        sy_store_read_end(c->st, db);
    }
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (published[i]) {
            rc = finish_published(c, ids[i], NULL, &e);
        } else {
            rc = purge_import(c, ids[i], &e);
            if (rc == 0) rc = sy_store_write(c->st, mark_interrupted, &ids[i], &e);
        }
        if (rc)
            sy_warn("msg=\"import recovery failed\" import=%lld err=\"%s\"", (long long)ids[i],
                    e.msg);
        else
            sy_info("msg=\"import recovered\" import=%lld action=%s", (long long)ids[i],
                    published[i] ? "completed" : "discarded");
    }
    pthread_mutex_unlock(&c->import_lock);
}

/* --- HTTP --- */

static int query_bool(sy_req *r, const char *name, int *out) {
    const char *v = sy_req_query(r, name);
    *out = 0;
    if (!v) return 0;
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
        *out = 1;
    else if (strcmp(v, "0") && strcmp(v, "false"))
        return sy_err_field(&r->err, SY_E_INVALID, name,
                            "query parameter %s=\"%s\" must be 1, 0, true or false", name, v);
    return 0;
}

int sy_contacts_import_http(sy_req *r, sy_contacts *c, int preview) {
    const sy_actor *actor = sy_req_actor(r);
    int enc = SY_CSV_AUTO, strict = 0, dry = 0, rc;
    const char *s = sy_req_query(r, "encoding");
    if (s && sy_csv_encoding_parse(s, &enc))
        return sy_err_field(&r->err, SY_E_INVALID, "encoding",
                            "encoding \"%s\" is not auto, utf-8, gbk or gb18030", s);
    if ((rc = query_bool(r, "strict", &strict)) || (rc = query_bool(r, "dry_run", &dry))) return rc;
    int dedupe_update = 1;
    s = sy_req_query(r, "dedupe");
    if (s) {
        if (strcmp(s, "skip") == 0)
            dedupe_update = 0;
        else if (strcmp(s, "update"))
            return sy_err_field(&r->err, SY_E_INVALID, "dedupe",
                                "dedupe \"%s\" is not update or skip", s);
    }
    json_t *mapping = NULL;
    s = sy_req_query(r, "mapping");
    if (s) {
        json_error_t je;
        mapping = json_loads(s, 0, &je);
        if (!mapping || !json_is_object(mapping)) {
            json_decref(mapping);
            return sy_err_field(&r->err, SY_E_INVALID, "mapping",
                                "mapping must be a JSON object of header → field");
        }
        sy_arena_on_destroy(r->arena, json_release, mapping);
    }
    if (r->body_len == 0)
        return sy_err_set(&r->err, SY_E_INVALID,
                          "the request body is empty: send the CSV file as the body");
    import_ctx *x;
    if ((rc = ctx_prepare(c, actor, r->body, r->body_len, enc, mapping, &x, &r->err))) return rc;
    x->strict = strict;
    x->dedupe_update = dedupe_update;
    if (preview) {
        validate_all(x, PREVIEW_ROWS);
        json_t *hdr = json_array(), *rows = json_array();
        for (size_t i = 0; i < x->ncols; i++)
            json_array_append_new(hdr, json_string(x->csv.rows[0].fields[i]));
        for (size_t i = 0; i < x->nrows; i++) {
            const sy_csv_row *row = &x->csv.rows[i + 1];
            json_t *vals = json_object(), *probs = json_array();
            for (size_t k = 0; k < row->n && k < x->ncols; k++)
                json_object_set_new(vals, x->csv.rows[0].fields[k], json_string(row->fields[k]));
            for (size_t k = 0; k < x->nerrs; k++)
                if (x->errs[k].line == row->line)
                    json_array_append_new(probs, json_pack("{s:s,s:s}", "column", x->errs[k].column,
                                                           "reason", x->errs[k].reason));
            json_array_append_new(rows, json_pack("{s:I,s:o,s:o,s:b}", "line",
                                                  (json_int_t)row->line, "values", vals, "problems",
                                                  probs, "ok", !x->rows[i].bad));
        }
        json_t *fl = json_array();
        for (const field_name *f = fields; f->name; f++)
            json_array_append_new(fl, json_string(f->name));
        json_array_append_new(fl, json_string("identity:<type>"));
        json_array_append_new(fl, json_string("consent:<channel>"));
        json_array_append_new(fl, json_string("attr:<key>"));
        json_array_append_new(fl, json_string("ignore"));
        json_t *out = json_pack("{s:s,s:b,s:o,s:O,s:o,s:o,s:I}", "encoding",
                                sy_csv_encoding_name(x->csv.encoding), "had_bom", x->csv.had_bom,
                                "headers", hdr, "mapping", x->mapping_json, "fields", fl, "rows",
                                rows, "rows_total", (json_int_t)(x->csv.n_rows - 1));
        ctx_destroy(x);
        return sy_reply_json(r, 200, out);
    }
    validate_all(x, 0);
    if (dry) {
        rc = dry_run(x, &r->err);
        if (rc) {
            ctx_destroy(x);
            return rc;
        }
        json_t *out = json_pack("{s:b,s:s,s:O,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:b}", "dry_run", 1,
                                "encoding", sy_csv_encoding_name(x->csv.encoding), "mapping",
                                x->mapping_json, "rows_total", (json_int_t)x->nrows, "rows_done",
                                (json_int_t)x->done, "imported", (json_int_t)x->imported, "updated",
                                (json_int_t)x->updated, "skipped", (json_int_t)x->skipped,
                                "rejected", (json_int_t)x->rejected, "errors", errors_json(x, 1000),
                                "strict_would_fail", x->strict && x->rejected > 0);
        ctx_destroy(x);
        return sy_reply_json(r, 200, out);
    }
    record_job rj = {.x = x};
    if ((rc = sy_store_write(c->st, record_create, &rj, &r->err))) {
        ctx_destroy(x);
        return rc;
    }
    import_job *j = calloc(1, sizeof *j);
    j->ctx = x;
    j->waiters = 1;
    pthread_mutex_lock(&c->lock);
    reap_locked(c);
    if (pthread_create(&j->th, NULL, job_main, j) != 0) {
        pthread_mutex_unlock(&c->lock);
        free(j);
        ctx_destroy(x);
        return sy_err_set(&r->err, SY_E_INTERNAL, "cannot start the import thread");
    }
    j->next = c->jobs;
    c->jobs = j;
    /* Small files finish within the wait and get their result at once;
     * larger ones answer 202 and are followed with GET /imports/{id}. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 2;
    while (!j->done && !c->stopping)
        if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) != 0) break;
    int done = j->done;
    int64_t id = x->id;
    j->waiters = 0;
    pthread_mutex_unlock(&c->lock);
    json_t *out;
    if ((rc = sy_contacts_import_get(c, NULL, id, &out, &r->err))) return rc;
    char loc[64];
    snprintf(loc, sizeof loc, "/api/v1/imports/%lld", (long long)id);
    sy_reply_header(r, "Location", loc);
    return sy_reply_json(r, done ? 200 : 202, out);
}

/* --- CLI --- */

int sy_contacts_import_file(sy_contacts *c, const char *path, const char *encoding, int strict,
                            const char *dedupe, sy_buf *report, sy_err *e) {
    int enc = SY_CSV_AUTO;
    if (encoding && sy_csv_encoding_parse(encoding, &enc))
        return sy_err_set(e, SY_E_INVALID, "encoding \"%s\" is not auto, utf-8, gbk or gb18030",
                          encoding);
    if (dedupe && strcmp(dedupe, "update") && strcmp(dedupe, "skip"))
        return sy_err_set(e, SY_E_INVALID, "dedupe \"%s\" is not update or skip", dedupe);
    FILE *f = fopen(path, "rb");
    if (!f) return sy_err_set(e, SY_E_IO, "cannot open \"%s\"", path);
    sy_buf data = SY_BUF_INIT;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sy_buf_add(&data, buf, n);
    fclose(f);
    sy_actor sys;
    sy_contacts_system_actor(&sys);
    import_ctx *x;
    int rc = ctx_prepare(c, &sys, data.p ? data.p : "", data.len, enc, NULL, &x, e);
    sy_buf_release(&data);
    if (rc) return rc;
    x->strict = strict;
    x->dedupe_update = !dedupe || strcmp(dedupe, "update") == 0;
    validate_all(x, 0);
    record_job rj = {.x = x};
    sy_contacts_wait_recovered(c);
    pthread_mutex_lock(&c->import_lock);
    rc = sy_store_write(c->st, record_create, &rj, e);
    if (rc == 0) rc = import_execute(x, e);
    pthread_mutex_unlock(&c->import_lock);
    if (report) {
        sy_buf_addf(report,
                    "import %lld: encoding=%s rows=%zu imported=%zu updated=%zu skipped=%zu "
                    "rejected=%zu%s\n",
                    (long long)x->id, sy_csv_encoding_name(x->csv.encoding), x->nrows, x->imported,
                    x->updated, x->skipped, x->rejected,
                    strict && x->rejected ? " (strict: nothing imported)" : "");
        for (size_t i = 0; i < x->nerrs && i < 1000; i++)
            sy_buf_addf(report, "line %zu%s%s: %s\n", x->errs[i].line,
                        x->errs[i].column[0] ? ", column " : "", x->errs[i].column,
                        x->errs[i].reason);
    }
    if (rc == 0 && strict && x->rejected)
        rc = sy_err_set(e, SY_E_INVALID, "strict import rejected: %zu bad rows", x->rejected);
    ctx_destroy(x);
    return rc;
}
