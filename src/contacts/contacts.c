/* contacts.c — the rules of the lead library: phone and email checks,
 * vocabularies (statuses, genders, identity types, consent), body
 * validation, data-scope SQL, id resolution, the module's lifecycle and its
 * recycling timer, and the /metrics hook. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "contacts_int.h"
#include "engine/engine.h"
#include "csv/csv.h"

const sy_contact_status sy_contact_statuses[] = {
    {"pending", "待跟进"},   {"following", "跟进中"}, {"won", "已成交"},
    {"no_intent", "无意向"}, {"lost", "已流失"},      {NULL, NULL},
};

const char *const sy_identity_types[] = {
    "phone",
    "email",
    "user_id",
    "anonymous_id",
    "wechat_unionid",
    "wechat_openid",
    "wecom_external_userid",
    "device_id",
    NULL,
};
const char *const sy_consent_channels[] = {"wecom", "sms", "email", "phone", NULL};
const char *const sy_consent_sources[] = {"import", "form", "sdk", "staff", NULL};

int sy_contacts_in_list(const char *const *list, const char *s) {
    if (!s) return 0;
    for (; *list; list++)
        if (strcmp(*list, s) == 0) return 1;
    return 0;
}

int sy_contacts_identity_type_valid(const char *t) {
    return sy_contacts_in_list(sy_identity_types, t);
}

int sy_contacts_status_parse(const char *s, const char **key) {
    for (const sy_contact_status *st = sy_contact_statuses; st->key; st++)
        if (strcmp(s, st->key) == 0 || strcmp(s, st->label) == 0) {
            *key = st->key;
            return 0;
        }
    return SY_E_INVALID;
}

const char *sy_contacts_status_label(const char *key) {
    for (const sy_contact_status *st = sy_contact_statuses; st->key; st++)
        if (sy_streq(key, st->key)) return st->label;
    return "";
}

int sy_contacts_gender_parse(const char *s, const char **key) {
    static const char *const male[] = {"male", "m", "男", "M", "Male", "先生", NULL};
    static const char *const female[] = {"female", "f", "女", "F", "Female", "女士", NULL};
    static const char *const unknown[] = {"unknown", "", "未知", "保密", "Unknown", NULL};
    if (sy_contacts_in_list(male, s))
        *key = "male";
    else if (sy_contacts_in_list(female, s))
        *key = "female";
    else if (sy_contacts_in_list(unknown, s))
        *key = "unknown";
    else
        return SY_E_INVALID;
    return 0;
}

/* --- phone numbers (china-data.md §4.2) --- */

/* Appends the ASCII meaning of the character at *p to digits (digits and a
 * leading '+'), skipping separators; returns -1 on any other character. */
static int phone_scan(const char *in, char *digits, size_t cap, int *plus) {
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)in;
    *plus = 0;
    while (*p) {
        int ch = -1; /* ASCII equivalent, or 0 for a separator */
        size_t adv = 1;
        if (*p >= '0' && *p <= '9')
            ch = *p;
        else if (*p == ' ' || *p == '-' || *p == '(' || *p == ')' || *p == '\t' || *p == '\'' ||
                 *p == '.' || *p == '/')
            ch = *p == '.' ? -2 : 0;
        else if (*p == '+')
            ch = '+';
        else if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x90 && p[2] <= 0x99) {
            ch = '0' + (p[2] - 0x90); /* full-width digits U+FF10..FF19 */
            adv = 3;
        } else if (p[0] == 0xEF && p[1] == 0xBC && p[2] == 0x8B) {
            ch = '+';
            adv = 3;
        } else if (p[0] == 0xEF && p[1] == 0xBC && (p[2] == 0x8D || p[2] == 0x88 || p[2] == 0x89)) {
            ch = 0; /* full-width - ( ) */
            adv = 3;
        } else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) {
            ch = 0; /* ideographic space */
            adv = 3;
        } else if (p[0] == 0xC2 && p[1] == 0xA0) {
            ch = 0;
            adv = 2;
        }
        if (ch == -1 || ch == -2) return -1; /* '.' only appears in mangled numbers */
        if (ch == '+') {
            if (n > 0 || *plus) return -1;
            *plus = 1;
        } else if (ch) {
            if (n + 1 >= cap) return -1;
            digits[n++] = (char)ch;
        }
        p += adv;
    }
    digits[n] = 0;
    return (int)n;
}

int sy_phone_normalize(const char *in, char *out, size_t n, sy_err *e) {
    char d[64];
    int plus = 0;
    if (!in || !*in) return sy_err_field(e, SY_E_INVALID, "phone", "phone is empty");
    if (sy_csv_is_excel_mangled(in))
        return sy_err_field(e, SY_E_INVALID, "phone",
                            "phone \"%s\" was turned into scientific notation by Excel and its "
                            "digits are lost; format the column as text and export again",
                            in);
    int len = phone_scan(in, d, sizeof d, &plus);
    if (len <= 0)
        return sy_err_field(e, SY_E_INVALID, "phone",
                            "phone \"%s\" contains characters other than digits", in);
    const char *nat = NULL;
    if (plus) {
        if (strncmp(d, "86", 2) == 0) {
            if (len != 13)
                return sy_err_field(e, SY_E_INVALID, "phone",
                                    "phone \"%s\" is not an 11-digit mainland number", in);
            nat = d + 2;
        } else {
            if (len < 8 || len > 15 || d[0] == '0')
                return sy_err_field(e, SY_E_INVALID, "phone",
                                    "phone \"%s\" is not a valid international number (E.164)", in);
            snprintf(out, n, "+%s", d);
            return 0;
        }
    } else if (len == 15 && strncmp(d, "0086", 4) == 0) {
        nat = d + 4;
    } else if (len == 13 && strncmp(d, "86", 2) == 0) {
        nat = d + 2;
    } else if (len == 11) {
        nat = d;
    } else if (len >= 10 && len <= 17 && d[0] == '0' && d[1] == '0' && d[2] != '0') {
        if (strncmp(d + 2, "86", 2) == 0)
            return sy_err_field(e, SY_E_INVALID, "phone",
                                "phone \"%s\" is not an 11-digit mainland number", in);
        snprintf(out, n, "+%s", d + 2);
        return 0;
    } else {
        return sy_err_field(e, SY_E_INVALID, "phone",
                            "phone \"%s\" is not an 11-digit mainland number", in);
    }
    if (strlen(nat) != 11 || nat[0] != '1' || nat[1] < '3' || nat[1] > '9')
        return sy_err_field(e, SY_E_INVALID, "phone",
                            "phone \"%s\" is not an 11-digit mainland number", in);
    if (n < 15) return sy_err_set(e, SY_E_INTERNAL, "phone buffer too small");
    snprintf(out, n, "+86%s", nat);
    return 0;
}

void sy_phone_mask(const char *e164, char *out, size_t n) {
    if (!e164 || !*e164) {
        if (n) out[0] = 0;
        return;
    }
    const char *d = e164[0] == '+' ? e164 + 1 : e164;
    if (strncmp(e164, "+86", 3) == 0) d = e164 + 3;
    size_t len = strlen(d);
    if (len < 8) {
        snprintf(out, n, "****");
        return;
    }
    snprintf(out, n, "%.3s****%s", d, d + len - 4);
}

int sy_email_valid(const char *s) {
    if (!s) return 0;
    size_t len = strlen(s);
    if (len < 3 || len > 254) return 0;
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@')) return 0;
    const char *dom = at + 1;
    const char *dot = strchr(dom, '.');
    if (!dot || dot == dom || dom[strlen(dom) - 1] == '.') return 0;
    if (strstr(dom, "..")) return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == ',' || *p == ';' || *p == '<' || *p == '>') return 0;
    return 1;
}

int sy_contacts_identity_normalize(sy_arena *a, const char *type, const char *value, char **out,
                                   sy_err *e) {
    if (!sy_contacts_identity_type_valid(type))
        return sy_err_field(
            e, SY_E_INVALID, "type",
            "identity type \"%s\" is not one of phone, email, user_id, anonymous_id, "
            "wechat_unionid, wechat_openid, wecom_external_userid, device_id",
            type);
    if (strcmp(type, "phone") == 0) {
        char p[32];
        int rc = sy_phone_normalize(value, p, sizeof p, e);
        if (rc) return rc;
        *out = sy_strdup(a, p);
        return 0;
    }
    if (strcmp(type, "email") == 0) {
        if (!sy_email_valid(value))
            return sy_err_field(e, SY_E_INVALID, "email", "email \"%s\" is not a valid address",
                                value);
        char *v = sy_strdup(a, value);
        for (char *p = v; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        *out = v;
        return 0;
    }
    size_t len = strlen(value);
    while (len && isspace((unsigned char)value[len - 1]))
        len--;
    while (len && isspace((unsigned char)*value))
        value++, len--;
    if (len == 0 || len > 256)
        return sy_err_field(e, SY_E_INVALID, "value",
                            "identity value for %s must be 1 to 256 bytes", type);
    *out = sy_strndup(a, value, len);
    return 0;
}

int sy_contacts_date_parse(const char *s, char *out, size_t n) {
    int y = 0, m = 0, d = 0;
    char tail[8] = "";
    if (sscanf(s, "%4d-%2d-%2d%7s", &y, &m, &d, tail) == 3 ||
        sscanf(s, "%4d/%2d/%2d%7s", &y, &m, &d, tail) == 3 ||
        sscanf(s, "%4d.%2d.%2d%7s", &y, &m, &d, tail) == 3 ||
        (sscanf(s, "%4d年%2d月%2d%7s", &y, &m, &d, tail) == 4 && strcmp(tail, "日") == 0)) {
        snprintf(out, n, "%04d-%02d-%02d", y, m, d);
        if (y < 1900 || y > 2100) return SY_E_INVALID;
        return sy_date_valid(out);
    }
    return SY_E_INVALID;
}

/* --- attribute definitions --- */

static void json_release(void *p) {
    json_decref(p);
}

int sy_contacts_load_defs(sy_db *db, sy_arena *a, attr_defs *out, sy_err *e) {
    sy_stmt *st;
    memset(out, 0, sizeof *out);
    int rc = sy_db_prepare(
        db, "SELECT key, label, type, options FROM contact_attr_defs ORDER BY key", &st, e);
    if (rc) return rc;
    size_t cap = 0;
    while ((rc = sy_stmt_step(st, e)) == SY_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            attr_def *nv = sy_alloc(a, cap * sizeof *nv);
            if (out->n) memcpy(nv, out->v, out->n * sizeof *nv);
            out->v = nv;
        }
        attr_def *d = &out->v[out->n++];
        d->key = sy_strdup(a, sy_stmt_col_text(st, 0));
        d->label = sy_strdup(a, sy_stmt_col_text(st, 1));
        d->type = sy_strdup(a, sy_stmt_col_text(st, 2));
        d->options = NULL;
        const char *o = sy_stmt_col_text(st, 3);
        if (o) {
            d->options = json_loads(o, 0, NULL);
            if (d->options) sy_arena_on_destroy(a, json_release, d->options);
        }
    }
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

const attr_def *sy_contacts_find_def(const attr_defs *d, const char *key) {
    for (size_t i = 0; d && i < d->n; i++)
        if (strcmp(d->v[i].key, key) == 0) return &d->v[i];
    return NULL;
}

int sy_contacts_attr_check(const attr_def *d, json_t *v, const char *field, sy_err *e) {
    if (json_is_null(v)) return 0;
    if (strcmp(d->type, "text") == 0) {
        if (!json_is_string(v))
            return sy_err_field(e, SY_E_INVALID, field, "attribute \"%s\" must be a string",
                                d->key);
        if (json_string_length(v) > 2000)
            return sy_err_field(e, SY_E_INVALID, field,
                                "attribute \"%s\" is longer than 2000 bytes", d->key);
    } else if (strcmp(d->type, "number") == 0) {
        if (!json_is_number(v))
            return sy_err_field(e, SY_E_INVALID, field, "attribute \"%s\" must be a number",
                                d->key);
    } else if (strcmp(d->type, "bool") == 0) {
        if (!json_is_boolean(v))
            return sy_err_field(e, SY_E_INVALID, field, "attribute \"%s\" must be true or false",
                                d->key);
    } else if (strcmp(d->type, "date") == 0) {
        if (!json_is_string(v) || sy_date_valid(json_string_value(v)) != 0)
            return sy_err_field(e, SY_E_INVALID, field,
                                "attribute \"%s\" must be a date \"YYYY-MM-DD\"", d->key);
    } else if (strcmp(d->type, "enum") == 0) {
        int ok = 0;
        size_t i;
        json_t *o;
        if (json_is_string(v)) json_array_foreach(d->options, i, o) if (json_equal(o, v)) ok = 1;
        if (!ok) {
            char *opts = d->options ? sy_json_dump(d->options) : NULL;
            char *got = sy_json_dump(v);
            sy_err_field(e, SY_E_INVALID, field, "attribute \"%s\" value %s is not one of %s",
                         d->key, got ? got : "?", opts ? opts : "[]");
            free(opts);
            free(got);
            return SY_E_INVALID;
        }
    }
    return 0;
}

/* --- request bodies --- */

static int opt_text(json_t *obj, const char *key, size_t max, const char **out, int *present,
                    sy_err *e) {
    json_t *v = json_object_get(obj, key);
    *present = v != NULL;
    if (!v) return 0;
    if (json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return sy_err_field(e, SY_E_INVALID, key, "field \"%s\" must be a string", key);
    const char *s = json_string_value(v);
    if (strlen(s) > max)
        return sy_err_field(e, SY_E_INVALID, key, "field \"%s\" is longer than %zu bytes", key,
                            max);
    *out = *s ? s : NULL; /* "" clears, like null */
    return 0;
}

static int opt_id(json_t *obj, const char *key, int64_t *out, int *present, sy_err *e) {
    json_t *v = json_object_get(obj, key);
    *present = v != NULL;
    if (!v) return 0;
    if (json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return sy_err_field(e, SY_E_INVALID, key, "field \"%s\" must be a positive integer id",
                            key);
    *out = json_integer_value(v);
    return 0;
}

int sy_contacts_parse_fields(sy_arena *a, json_t *obj, const attr_defs *defs, int creating,
                             contact_fields *f, sy_err *e) {
    static const char *const patch_keys[] = {
        "name",      "phone",    "email",    "gender", "birthday",   "city", "company",
        "source_id", "owner_id", "store_id", "status", "attributes", NULL};
    static const char *const create_keys[] = {"name",       "phone",    "email",   "gender",
                                              "birthday",   "city",     "company", "source_id",
                                              "owner_id",   "store_id", "status",  "attributes",
                                              "identities", "consent",  "note",    NULL};
    memset(f, 0, sizeof *f);
    int rc = sy_json_only(obj, creating ? create_keys : patch_keys, e);
    if (rc) return rc;
    int p;
    const char *s;
    struct {
        const char *key;
        unsigned bit;
        size_t max;
        const char **dst;
    } texts[] = {
        {"name", F_NAME, 200, &f->name},
        {"city", F_CITY, 100, &f->city},
        {"company", F_COMPANY, 200, &f->company},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(texts); i++) {
        if ((rc = opt_text(obj, texts[i].key, texts[i].max, texts[i].dst, &p, e))) return rc;
        if (p) f->set |= texts[i].bit;
    }
    if ((rc = opt_text(obj, "phone", 64, &s, &p, e))) return rc;
    if (p) {
        f->set |= F_PHONE;
        if (s) {
            char n[32];
            if ((rc = sy_phone_normalize(s, n, sizeof n, e))) return rc;
            f->phone = sy_strdup(a, n);
        }
    }
    if ((rc = opt_text(obj, "email", 254, &s, &p, e))) return rc;
    if (p) {
        f->set |= F_EMAIL;
        if (s) {
            char *v;
            if ((rc = sy_contacts_identity_normalize(a, "email", s, &v, e))) return rc;
            f->email = v;
        }
    }
    if ((rc = opt_text(obj, "gender", 16, &s, &p, e))) return rc;
    if (p) {
        f->set |= F_GENDER;
        if (s && sy_contacts_gender_parse(s, &f->gender))
            return sy_err_field(e, SY_E_INVALID, "gender",
                                "gender \"%s\" is not male, female or unknown", s);
    }
    if ((rc = opt_text(obj, "birthday", 32, &s, &p, e))) return rc;
    if (p) {
        f->set |= F_BIRTHDAY;
        if (s) {
            char d[16];
            if (sy_contacts_date_parse(s, d, sizeof d))
                return sy_err_field(e, SY_E_INVALID, "birthday",
                                    "birthday \"%s\" is not a date \"YYYY-MM-DD\"", s);
            f->birthday = sy_strdup(a, d);
        }
    }
    if ((rc = opt_text(obj, "status", 32, &s, &p, e))) return rc;
    if (p) {
        if (!s) return sy_err_field(e, SY_E_INVALID, "status", "field \"status\" cannot be empty");
        f->set |= F_STATUS;
        if (sy_contacts_status_parse(s, &f->status))
            return sy_err_field(
                e, SY_E_INVALID, "status",
                "status \"%s\" is not one of pending, following, won, no_intent, lost", s);
    }
    if ((rc = opt_id(obj, "source_id", &f->source_id, &p, e))) return rc;
    if (p) f->set |= F_SOURCE;
    if ((rc = opt_id(obj, "owner_id", &f->owner_id, &p, e))) return rc;
    if (p) f->set |= F_OWNER;
    if ((rc = opt_id(obj, "store_id", &f->store_id, &p, e))) return rc;
    if (p) f->set |= F_STORE;

    json_t *attrs = json_object_get(obj, "attributes");
    if (attrs) {
        if (!json_is_object(attrs))
            return sy_err_field(e, SY_E_INVALID, "attributes",
                                "field \"attributes\" must be an object");
        const char *k;
        json_t *v;
        json_object_foreach(attrs, k, v) {
            const attr_def *d = sy_contacts_find_def(defs, k);
            char *field = sy_sprintf(a, "attributes.%s", k);
            if (!d)
                return sy_err_field(e, SY_E_INVALID, field, "attribute \"%s\" is not defined", k);
            if ((rc = sy_contacts_attr_check(d, v, field, e))) return rc;
        }
        f->attrs = attrs;
        f->set |= F_ATTRS;
    }
    if (!creating) {
        if (!f->set)
            return sy_err_set(e, SY_E_INVALID, "nothing to change: the body has no fields");
        return 0;
    }
    json_t *ids = json_object_get(obj, "identities");
    if (ids && !json_is_null(ids)) {
        if (!json_is_array(ids) || json_array_size(ids) > 32)
            return sy_err_field(
                e, SY_E_INVALID, "identities",
                "field \"identities\" must be an array of at most 32 {type, value}");
        f->idents = sy_alloc(a, (json_array_size(ids) + 1) * sizeof *f->idents);
        size_t i;
        json_t *it;
        json_array_foreach(ids, i, it) {
            char *field = sy_sprintf(a, "identities[%zu]", i);
            static const char *const ik[] = {"type", "value", NULL};
            if (!json_is_object(it))
                return sy_err_field(e, SY_E_INVALID, field, "%s must be an object {type, value}",
                                    field);
            const char *t, *v;
            if ((rc = sy_json_only(it, ik, e)) || (rc = sy_json_req_str(it, "type", &t, e)) ||
                (rc = sy_json_req_str(it, "value", &v, e))) {
                snprintf(e->field, sizeof e->field, "%s", field);
                return rc;
            }
            char *nv;
            if ((rc = sy_contacts_identity_normalize(a, t, v, &nv, e))) {
                snprintf(e->field, sizeof e->field, "%s", field);
                return rc;
            }
            f->idents[f->n_idents].type = sy_strdup(a, t);
            f->idents[f->n_idents].value = nv;
            f->n_idents++;
        }
    }
    json_t *cs = json_object_get(obj, "consent");
    if (cs && !json_is_null(cs)) {
        if (!json_is_array(cs) || json_array_size(cs) > 8)
            return sy_err_field(e, SY_E_INVALID, "consent",
                                "field \"consent\" must be an array of at most 8 records");
        f->consent = sy_alloc(a, (json_array_size(cs) + 1) * sizeof *f->consent);
        size_t i;
        json_t *it;
        json_array_foreach(cs, i, it) {
            char *field = sy_sprintf(a, "consent[%zu]", i);
            static const char *const ck[] = {"channel", "status", "source", "purpose", "at", NULL};
            contact_consent *c = &f->consent[f->n_consent];
            memset(c, 0, sizeof *c);
            if (!json_is_object(it))
                return sy_err_field(e, SY_E_INVALID, field, "%s must be an object", field);
            int pr = 0;
            if ((rc = sy_json_only(it, ck, e)) ||
                (rc = sy_json_req_str(it, "channel", &c->channel, e)) ||
                (rc = sy_json_req_str(it, "status", &c->status, e)) ||
                (rc = sy_json_str(it, "source", &c->source, NULL, e)) ||
                (rc = sy_json_str(it, "purpose", &c->purpose, NULL, e)) ||
                (rc = sy_json_int(it, "at", &c->at, &pr, e))) {
                snprintf(e->field, sizeof e->field, "%s", field);
                return rc;
            }
            if (!sy_contacts_in_list(sy_consent_channels, c->channel))
                return sy_err_field(e, SY_E_INVALID, field,
                                    "consent channel \"%s\" is not one of wecom, sms, email, phone",
                                    c->channel);
            if (strcmp(c->status, "granted") && strcmp(c->status, "withdrawn"))
                return sy_err_field(e, SY_E_INVALID, field,
                                    "consent status \"%s\" is not granted or withdrawn", c->status);
            if (!c->source) c->source = "staff";
            if (!sy_contacts_in_list(sy_consent_sources, c->source))
                return sy_err_field(e, SY_E_INVALID, field,
                                    "consent source \"%s\" is not one of import, form, sdk, staff",
                                    c->source);
            if (c->purpose && strlen(c->purpose) > 200)
                return sy_err_field(e, SY_E_INVALID, field,
                                    "consent purpose is longer than 200 bytes");
            f->n_consent++;
        }
    }
    if ((rc = opt_text(obj, "note", 2000, &f->note, &p, e))) return rc;
    if (!f->name && !f->phone && !f->email && !f->n_idents)
        return sy_err_set(e, SY_E_INVALID,
                          "a contact needs at least a name, a phone, an email or an identity");
    return 0;
}

int sy_contacts_check_refs(sy_contacts *c, sy_db *db, contact_fields *f, sy_err *e) {
    int rc;
    if ((f->set & F_OWNER) && f->owner_id) {
        int64_t dept = 0;
        if (sy_staff_lookup(c->staff, f->owner_id, &dept, NULL, e))
            return sy_err_field(e, SY_E_INVALID, "owner_id",
                                "owner_id %lld is not an active staff member",
                                (long long)f->owner_id);
        f->department_id = dept;
    }
    if ((f->set & F_STORE) && f->store_id && sy_staff_store_exists(c->staff, f->store_id, e))
        return sy_err_field(e, SY_E_INVALID, "store_id", "store_id %lld is not a store",
                            (long long)f->store_id);
    if ((f->set & F_SOURCE) && f->source_id) {
        sy_stmt *st;
        if ((rc = sy_db_prepare(db, "SELECT 1 FROM contact_channels WHERE id=?", &st, e)))
            return rc;
        sy_stmt_bind_int(st, 1, f->source_id);
        rc = sy_stmt_step(st, e);
        sy_stmt_finalize(st);
        if (rc < 0) return rc;
        if (rc != SY_ROW)
            return sy_err_field(e, SY_E_INVALID, "source_id",
                                "source_id %lld is not an acquisition channel",
                                (long long)f->source_id);
    }
    return 0;
}

/* --- scope SQL --- */

static char *id_list(sy_arena *a, const sy_actor *actor) {
    sy_buf b = SY_BUF_INIT;
    sy_buf_addf(&b, "%lld", (long long)actor->staff_id);
    for (size_t i = 0; i < actor->n_dept_staff; i++)
        if (actor->dept_staff[i] != actor->staff_id)
            sy_buf_addf(&b, ",%lld", (long long)actor->dept_staff[i]);
    char *s = sy_strdup(a, b.p);
    sy_buf_release(&b);
    return s;
}

char *sy_contacts_scope_sql(sy_arena *a, const sy_actor *actor, const char *al) {
    if (!actor || actor->scope == SY_SCOPE_ALL) return sy_strdup(a, "1");
    switch (actor->scope) {
    case SY_SCOPE_OWN:
        return sy_sprintf(a,
                          "(%s.owner_id = %lld OR EXISTS (SELECT 1 FROM contact_followers sf WHERE "
                          "sf.contact_id = %s.id AND sf.staff_id = %lld))",
                          al, (long long)actor->staff_id, al, (long long)actor->staff_id);
    case SY_SCOPE_DEPT: {
        char *ids = id_list(a, actor);
        return sy_sprintf(
            a,
            "(%s.owner_id IN (%s) OR EXISTS (SELECT 1 FROM contact_followers sf WHERE "
            "sf.contact_id = %s.id AND sf.staff_id IN (%s)))",
            al, ids, al, ids);
    }
    case SY_SCOPE_STORE:
        if (!actor->store_id) return sy_strdup(a, "0");
        return sy_sprintf(a, "(%s.store_id = %lld)", al, (long long)actor->store_id);
    default:
        return sy_strdup(a, "0"); /* unknown scope: see nothing */
    }
}

char *sy_contacts_pool_sql(sy_arena *a, const sy_actor *actor, const char *al) {
    if (actor && actor->scope == SY_SCOPE_STORE)
        return sy_sprintf(a,
                          "(%s.owner_id IS NULL AND (%s.store_id IS NULL OR %s.store_id = %lld))",
                          al, al, al, (long long)actor->store_id);
    return sy_sprintf(a, "(%s.owner_id IS NULL)", al);
}

/* Follows merged_into from id (at most 16 hops; chains longer than that are
 * refused as corrupt). */
static int follow_merges(sy_db *db, int64_t id, int64_t *live, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare_cached(
        db, "SELECT c.merged_into FROM contacts c WHERE c.id = ? AND " SY_CONTACT_PUBLISHED("c"),
        &st, e);
    if (rc) return rc;
    int64_t cur = id;
    for (int hop = 0;; hop++) {
        if (hop > 16) {
            sy_stmt_done(st);
            return sy_err_set(e, SY_E_INTERNAL, "contact %lld: merge chain too long",
                              (long long)id);
        }
        sy_stmt_reset(st);
        sy_stmt_bind_int(st, 1, cur);
        rc = sy_stmt_step(st, e);
        if (rc < 0) break;
        if (rc != SY_ROW) {
            rc = sy_err_set(e, SY_E_NOT_FOUND, "contact %lld not found", (long long)id);
            break;
        }
        if (sy_stmt_col_type(st, 0) == SY_NULL) {
            *live = cur;
            rc = 0;
            break;
        }
        cur = sy_stmt_col_int(st, 0);
    }
    sy_stmt_done(st);
    return rc;
}

static int resolve_with(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t id, int pool,
                        int64_t *live, sy_err *e) {
    int64_t w;
    int rc = follow_merges(db, id, &w, e);
    if (rc) return rc;
    char *scope = sy_contacts_scope_sql(a, actor, "c");
    char *sql =
        pool ? sy_sprintf(a,
                          "SELECT 1 FROM contacts c WHERE c.id = ? AND " SY_CONTACT_LIVE(
                              "c") " AND (%s OR %s)",
                          scope, sy_contacts_pool_sql(a, actor, "c"))
             : sy_sprintf(
                   a, "SELECT 1 FROM contacts c WHERE c.id = ? AND " SY_CONTACT_LIVE("c") " AND %s",
                   scope);
    sy_stmt *st;
    if ((rc = sy_db_prepare(db, sql, &st, e))) return rc;
    sy_stmt_bind_int(st, 1, w);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if (rc != SY_ROW) return sy_err_set(e, SY_E_NOT_FOUND, "contact %lld not found", (long long)id);
    *live = w;
    return 0;
}

int sy_contacts_resolve(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t id, int64_t *live,
                        sy_err *e) {
    return resolve_with(db, a, actor, id, 0, live, e);
}

int sy_contacts_resolve_pool(sy_db *db, sy_arena *a, const sy_actor *actor, int64_t id,
                             int64_t *live, sy_err *e) {
    return resolve_with(db, a, actor, id, 1, live, e);
}

int sy_contacts_canonical_id(sy_contacts *c, int64_t id, int64_t *out, sy_err *e) {
    sy_db *db;
    int rc = sy_store_read_begin(c->st, &db, e);
    if (rc) return rc;
    rc = follow_merges(db, id, out, e);
    sy_store_read_end(c->st, db);
    return rc;
}

/* --- small helpers --- */

json_t *sy_contacts_jstr(const char *s) {
    return s ? json_string(s) : json_null();
}
json_t *sy_contacts_jid(int64_t v) {
    return v ? json_integer(v) : json_null();
}

sy_actor *sy_contacts_actor_copy(sy_arena *a, const sy_actor *src) {
    sy_actor *d = sy_alloc(a, sizeof *d);
    *d = *src;
    d->name = sy_strdup(a, src->name);
    d->username = sy_strdup(a, src->username);
    d->via = sy_strdup(a, src->via);
    d->ip = sy_strdup(a, src->ip);
    if (src->n_dept_staff) {
        int64_t *ids = sy_alloc(a, src->n_dept_staff * sizeof *ids);
        memcpy(ids, src->dept_staff, src->n_dept_staff * sizeof *ids);
        d->dept_staff = ids;
    }
    return d;
}

void sy_contacts_system_actor(sy_actor *out) {
    memset(out, 0, sizeof *out);
    out->name = "cli";
    out->username = "cli";
    out->perms = SY_PERM_ALL;
    out->scope = SY_SCOPE_ALL;
    out->via = "cli";
    out->ip = "local";
}

const char *sy_contacts_phone_out(sy_arena *a, const sy_actor *actor, const char *e164) {
    if (!e164) return NULL;
    if (!actor || (actor->perms & SY_PERM_PHONE_UNMASK)) return sy_strdup(a, e164);
    char m[32];
    sy_phone_mask(e164, m, sizeof m);
    return sy_strdup(a, m);
}

/* --- lifecycle and the recycling timer --- */

/* The timer thread: first finishes any import a crash interrupted, then
 * runs lead recycling every recycle_check_ms while it is enabled. */
static void *timer_main(void *arg) {
    sy_contacts *c = arg;
    sy_contacts_import_recover(c);
    pthread_mutex_lock(&c->lock);
    c->recovered = 1;
    pthread_cond_broadcast(&c->cond);
    while (!c->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (c->recycle_check_ms % 1000) * 1000000;
        ts.tv_sec += c->recycle_check_ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        /* c->cond is also broadcast for import completion: wait out the
         * whole interval */
        while (!c->stopping && pthread_cond_timedwait(&c->cond, &c->lock, &ts) == 0) {
        }
        if (c->stopping) break;
        pthread_mutex_unlock(&c->lock);
        sy_err e;
        sy_err_clear(&e);
        size_t n = 0;
        if (sy_contacts_recycle_run(c, NULL, 0, &n, &e))
            sy_warn("msg=\"lead recycling failed\" err=\"%s\"", e.msg);
        else if (n)
            sy_info("msg=\"leads recycled to the pool\" count=%zu", n);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

void sy_contacts_wait_recovered(sy_contacts *c) {
    pthread_mutex_lock(&c->lock);
    while (!c->recovered && !c->stopping)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

int sy_contacts_create(sy_store *st, sy_staff *staff, int64_t recycle_check_ms, sy_contacts **out,
                       sy_err *e) {
    *out = NULL;
    sy_contacts *c = calloc(1, sizeof *c);
    if (!c) return sy_err_set(e, SY_E_NOMEM, "out of memory");
    c->st = st;
    c->staff = staff;
    c->recycle_check_ms = recycle_check_ms > 0 ? recycle_check_ms : 60000;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->import_lock, NULL);
    pthread_mutex_init(&c->live_lock, NULL);
    pthread_mutex_init(&c->facts_lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (pthread_create(&c->timer, NULL, timer_main, c) != 0) {
        sy_contacts_destroy(c);
        return sy_err_set(e, SY_E_INTERNAL, "cannot start the lead-recycling thread");
    }
    c->timer_running = 1;
    *out = c;
    return 0;
}

void sy_contacts_destroy(sy_contacts *c) {
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (c->timer_running) pthread_join(c->timer, NULL);
    sy_contacts_import_join_all(c);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->import_lock);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->live_lock);
    sy_contacts_facts_release(c->facts);
    pthread_mutex_destroy(&c->facts_lock);
    sy_idset_destroy(c->live);
    free(c);
}

/* --- /metrics --- */

static void metrics_hook(void *ctx, sy_buf *out) {
    sy_contacts *c = ctx;
    sy_db *db;
    sy_err e;
    int64_t total = 0, pool = 0, merged = 0, running = 0;
    if (sy_store_read_begin(c->st, &db, &e) == 0) {
        sy_db_query_int(db, "SELECT count(*) FROM contacts c WHERE " SY_CONTACT_LIVE("c"), &total,
                        &e);
        sy_db_query_int(
            db,
            "SELECT count(*) FROM contacts c WHERE c.owner_id IS NULL AND " SY_CONTACT_LIVE("c"),
            &pool, &e);
        sy_db_query_int(db, "SELECT count(*) FROM contacts WHERE merged_into IS NOT NULL", &merged,
                        &e);
        sy_db_query_int(
            db, "SELECT count(*) FROM contact_imports WHERE status IN ('running','publishing')",
            &running, &e);
        sy_store_read_end(c->st, db);
    }
    pthread_mutex_lock(&c->lock);
    int64_t exports = c->n_exports, unmasks = c->n_unmasks, merges = c->n_merges,
            recycled = c->n_recycled, rows = c->n_import_rows;
    pthread_mutex_unlock(&c->lock);
    sy_buf_addf(out,
                "# HELP siyu_contacts_total Live contacts (not merged, published).\n# TYPE "
                "siyu_contacts_total gauge\n"
                "siyu_contacts_total %lld\n",
                (long long)total);
    sy_buf_addf(out,
                "# HELP siyu_contacts_pool_total Contacts in the lead pool.\n# TYPE "
                "siyu_contacts_pool_total gauge\n"
                "siyu_contacts_pool_total %lld\n",
                (long long)pool);
    sy_buf_addf(out, "# TYPE siyu_contacts_merged_total gauge\nsiyu_contacts_merged_total %lld\n",
                (long long)merged);
    sy_buf_addf(out,
                "# TYPE siyu_contact_imports_running gauge\nsiyu_contact_imports_running %lld\n",
                (long long)running);
    sy_buf_addf(
        out, "# TYPE siyu_contact_import_rows_total counter\nsiyu_contact_import_rows_total %lld\n",
        (long long)rows);
    sy_buf_addf(out, "# TYPE siyu_contact_exports_total counter\nsiyu_contact_exports_total %lld\n",
                (long long)exports);
    sy_buf_addf(out, "# TYPE siyu_contact_unmasks_total counter\nsiyu_contact_unmasks_total %lld\n",
                (long long)unmasks);
    sy_buf_addf(out, "# TYPE siyu_contact_merges_total counter\nsiyu_contact_merges_total %lld\n",
                (long long)merges);
    sy_buf_addf(out,
                "# TYPE siyu_contacts_recycled_total counter\nsiyu_contacts_recycled_total %lld\n",
                (long long)recycled);
}

void sy_contacts_metrics_register(sy_contacts *c, sy_http *h) {
    sy_http_add_metrics(h, metrics_hook, c);
}
