/* tags_forms.c — form tags: forms (questionnaires) whose options map to tags,
 * and submissions that apply those tags at once. Routes under /api/v1/forms.
 *
 * A form's questions are stored as one JSON text (they are always read and
 * written whole); the option → tag mapping is checked against the taxonomy
 * when the form is saved (tags must exist and not be rule tags). A
 * submission records the answers and the tags applied, then writes each tag
 * through the ordinary membership path (source "form", audited, tag_added
 * events). Tags deleted since the form was saved are skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tags_int.h"

#define CTX(r) ((sy_tags *)(r)->ctx)

/* --- pure rules --- */

static int id_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > SY_TAGS_FORM_ID_MAX) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* Checks obj[key] is a string of 1..max characters (an id when max == 0). */
static int str_field(json_t *obj, const char *key, const char *path, size_t max, sy_err *e) {
    json_t *v = json_object_get(obj, key);
    char field[160];
    snprintf(field, sizeof field, "%s.%s", path, key);
    if (!json_is_string(v))
        return sy_err_field(e, SY_E_INVALID, field, "%s must be a string", field);
    const char *s = json_string_value(v);
    if (max == 0) {
        if (!id_ok(s))
            return sy_err_field(e, SY_E_INVALID, field,
                                "%s \"%.40s\" is not an id (1-%d of A-Z a-z 0-9 _ -)", field, s,
                                SY_TAGS_FORM_ID_MAX);
        return 0;
    }
    return sy_tags_check_text(field, s, max, e);
}

/* Unknown keys in a question or option object. */
static int only_keys(json_t *obj, const char *const *allowed, const char *path, sy_err *e) {
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = sy_streq(k, allowed[i]);
        if (!ok) {
            char field[200];
            snprintf(field, sizeof field, "%s.%.60s", path, k);
            return sy_err_field(e, SY_E_INVALID, field, "unknown field \"%.60s\"", k);
        }
    }
    return 0;
}

int sy_tags_form_shape(json_t *questions, sy_err *e) {
    static const char *const qkeys[] = {"id", "title", "multiple", "options", NULL};
    static const char *const okeys[] = {"id", "label", "tag_ids", NULL};
    if (!json_is_array(questions) || json_array_size(questions) == 0)
        return sy_err_field(e, SY_E_INVALID, "questions",
                            "field \"questions\" must be a non-empty array");
    if (json_array_size(questions) > SY_TAGS_FORM_QUESTIONS)
        return sy_err_field(e, SY_E_INVALID, "questions", "a form has at most %d questions",
                            SY_TAGS_FORM_QUESTIONS);
    size_t qi;
    json_t *q;
    int rc;
    json_array_foreach(questions, qi, q) {
        char qp[64];
        snprintf(qp, sizeof qp, "questions[%zu]", qi);
        if (!json_is_object(q))
            return sy_err_field(e, SY_E_INVALID, qp, "%s must be an object", qp);
        if ((rc = only_keys(q, qkeys, qp, e))) return rc;
        if ((rc = str_field(q, "id", qp, 0, e))) return rc;
        if ((rc = str_field(q, "title", qp, SY_TAGS_SCENARIO_MAX, e))) return rc;
        json_t *m = json_object_get(q, "multiple");
        if (m && !json_is_boolean(m)) {
            char f[80];
            snprintf(f, sizeof f, "%s.multiple", qp);
            return sy_err_field(e, SY_E_INVALID, f, "%s must be true or false", f);
        }
        const char *qid = json_string_value(json_object_get(q, "id"));
        for (size_t k = 0; k < qi; k++)
            if (sy_streq(json_string_value(json_object_get(json_array_get(questions, k), "id")),
                         qid)) {
                char f[80];
                snprintf(f, sizeof f, "%s.id", qp);
                return sy_err_field(e, SY_E_INVALID, f, "question id \"%s\" is used twice", qid);
            }
        json_t *opts = json_object_get(q, "options");
        char op_path[80];
        snprintf(op_path, sizeof op_path, "%s.options", qp);
        if (!json_is_array(opts) || json_array_size(opts) == 0)
            return sy_err_field(e, SY_E_INVALID, op_path, "%s must be a non-empty array", op_path);
        if (json_array_size(opts) > SY_TAGS_FORM_OPTIONS)
            return sy_err_field(e, SY_E_INVALID, op_path, "a question has at most %d options",
                                SY_TAGS_FORM_OPTIONS);
        size_t oi;
        json_t *o;
        json_array_foreach(opts, oi, o) {
            char opp[128];
            snprintf(opp, sizeof opp, "%s[%zu]", op_path, oi);
            if (!json_is_object(o))
                return sy_err_field(e, SY_E_INVALID, opp, "%s must be an object", opp);
            if ((rc = only_keys(o, okeys, opp, e))) return rc;
            if ((rc = str_field(o, "id", opp, 0, e))) return rc;
            if ((rc = str_field(o, "label", opp, SY_TAGS_NAME_MAX, e))) return rc;
            const char *oid = json_string_value(json_object_get(o, "id"));
            for (size_t k = 0; k < oi; k++)
                if (sy_streq(json_string_value(json_object_get(json_array_get(opts, k), "id")),
                             oid)) {
                    char f[160];
                    snprintf(f, sizeof f, "%s.id", opp);
                    return sy_err_field(e, SY_E_INVALID, f,
                                        "option id \"%s\" is used twice in question \"%s\"", oid,
                                        qid);
                }
            json_t *tags = json_object_get(o, "tag_ids");
            char tp[160];
            snprintf(tp, sizeof tp, "%s.tag_ids", opp);
            if (!json_is_array(tags) || json_array_size(tags) > SY_TAGS_OPTION_TAGS)
                return sy_err_field(e, SY_E_INVALID, tp, "%s must be an array of at most %d ids",
                                    tp, SY_TAGS_OPTION_TAGS);
            size_t ti;
            json_t *tv;
            json_array_foreach(tags, ti, tv) {
                if (!json_is_integer(tv) || json_integer_value(tv) < 1) {
                    char f[200];
                    snprintf(f, sizeof f, "%s[%zu]", tp, ti);
                    return sy_err_field(e, SY_E_INVALID, f, "%s must be a tag id", f);
                }
            }
        }
    }
    return 0;
}

static json_t *find_by_id(json_t *arr, const char *id) {
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        if (sy_streq(json_string_value(json_object_get(x, "id")), id)) return x;
    }
    return NULL;
}

static int add_tags(json_t *opt, int64_t *tags, size_t cap, size_t *n) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(opt, "tag_ids"), i, v) {
        int64_t id = json_integer_value(v);
        size_t k = 0;
        while (k < *n && tags[k] < id)
            k++;
        if (k < *n && tags[k] == id) continue;
        if (*n == cap) return SY_E_TOO_LARGE;
        memmove(&tags[k + 1], &tags[k], (*n - k) * sizeof *tags);
        tags[k] = id;
        (*n)++;
    }
    return 0;
}

int sy_tags_form_answer_tags(json_t *questions, json_t *answers, int64_t *tags, size_t cap,
                             size_t *n, sy_err *e) {
    *n = 0;
    if (!json_is_object(answers) || json_object_size(answers) == 0)
        return sy_err_field(
            e, SY_E_INVALID, "answers",
            "field \"answers\" must be a non-empty object {question_id: option_id}");
    const char *qid;
    json_t *a;
    json_object_foreach(answers, qid, a) {
        char f[120];
        snprintf(f, sizeof f, "answers.%.60s", qid);
        json_t *q = find_by_id(questions, qid);
        if (!q)
            return sy_err_field(e, SY_E_INVALID, f, "question \"%.60s\" is not in this form", qid);
        json_t *opts = json_object_get(q, "options");
        int multiple = json_is_true(json_object_get(q, "multiple"));
        size_t count = json_is_array(a) ? json_array_size(a) : 1;
        if (json_is_array(a) && !multiple && count != 1)
            return sy_err_field(e, SY_E_INVALID, f, "question \"%.60s\" takes one option, not %zu",
                                qid, count);
        if (count == 0)
            return sy_err_field(e, SY_E_INVALID, f, "question \"%.60s\" has no option chosen", qid);
        for (size_t i = 0; i < count; i++) {
            json_t *v = json_is_array(a) ? json_array_get(a, i) : a;
            if (!json_is_string(v))
                return sy_err_field(e, SY_E_INVALID, f,
                                    "%s must be an option id or an array of option ids", f);
            json_t *o = find_by_id(opts, json_string_value(v));
            if (!o)
                return sy_err_field(e, SY_E_INVALID, f,
                                    "option \"%.40s\" is not an option of question \"%.60s\"",
                                    json_string_value(v), qid);
            if (add_tags(o, tags, cap, n))
                return sy_err_field(e, SY_E_INVALID, "answers", "too many tags in one submission");
        }
    }
    return 0;
}

/* --- storage --- */

#define FORM_COLS "id, name, description, questions, created_at, updated_at"

static json_t *form_row(sy_stmt *st) {
    const char *d = sy_stmt_col_text(st, 2);
    json_t *q = json_loads(sy_stmt_col_text(st, 3), 0, NULL);
    return json_pack("{s:I,s:s,s:o,s:o,s:I,s:I}", "id", (json_int_t)sy_stmt_col_int(st, 0), "name",
                     sy_stmt_col_text(st, 1), "description", d ? json_string(d) : json_null(),
                     "questions", q ? q : json_array(), "created_at",
                     (json_int_t)sy_stmt_col_int(st, 4), "updated_at",
                     (json_int_t)sy_stmt_col_int(st, 5));
}

static int form_load(sy_db *db, int64_t id, json_t **out, sy_err *e) {
    sy_stmt *st;
    *out = NULL;
    int rc = sy_db_prepare(db, "SELECT " FORM_COLS " FROM forms WHERE id = ?1", &st, e);
    if (rc) return rc;
    sy_stmt_bind_int(st, 1, id);
    rc = sy_stmt_step(st, e);
    if (rc == SY_ROW) *out = form_row(st);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    return *out ? 0 : sy_err_set(e, SY_E_NOT_FOUND, "form %lld not found", (long long)id);
}

/* Every option's tags exist and are not rule tags (400 naming the path). */
static int form_tags_check(sy_tags *t, json_t *questions, sy_err *e) {
    size_t qi, oi, ti;
    json_t *q, *o, *v;
    json_array_foreach(questions, qi, q) {
        json_array_foreach(json_object_get(q, "options"), oi, o) {
            json_array_foreach(json_object_get(o, "tag_ids"), ti, v) {
                int64_t id = json_integer_value(v);
                int k = sy_tags_ram_is_rule(t, id);
                if (k == 0) continue;
                char f[140];
                snprintf(f, sizeof f, "questions[%zu].options[%zu].tag_ids[%zu]", qi, oi, ti);
                return sy_err_field(e, SY_E_INVALID, f,
                                    k < 0 ? "tag %lld does not exist"
                                          : "tag %lld is a rule tag; forms apply manual or "
                                            "form tags",
                                    (long long)id);
            }
        }
    }
    return 0;
}

typedef struct form_op {
    sy_tags *t;
    const sy_actor *actor;
    int64_t id;
    json_t *body;
    json_t *result;
    /* submission */
    int64_t contact;
    json_t *tag_ids;
    const char *source;
} form_op;

static int name_taken(sy_db *db, const char *name, int64_t self, sy_err *e) {
    sy_stmt *st;
    int rc = sy_db_prepare(db, "SELECT 1 FROM forms WHERE name = ?1 AND id != ?2", &st, e);
    if (rc) return rc;
    sy_stmt_bind_text(st, 1, name);
    sy_stmt_bind_int(st, 2, self);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    return rc == SY_ROW
               ? sy_err_field(e, SY_E_CONFLICT, "name", "a form named \"%s\" already exists", name)
               : 0;
}

static int audit_form(sy_db *db, form_op *o, const char *action, sy_err *e) {
    char target[40];
    snprintf(target, sizeof target, "form:%lld", (long long)o->id);
    return sy_audit_record(db, o->actor, action, target, o->body, e);
}

static int job_form_save(sy_db *db, void *arg, sy_err *e) {
    form_op *o = arg;
    json_t *cur = NULL;
    int rc = 0;
    if (o->id && (rc = form_load(db, o->id, &cur, e))) return rc;
    json_t *src = o->body;
#define PICK(k) (json_object_get(src, k) ? json_object_get(src, k) : json_object_get(cur, k))
    const char *name = json_string_value(PICK("name"));
    json_t *desc = PICK("description");
    char *qtext = json_dumps(PICK("questions"), JSON_COMPACT);
#undef PICK
    rc = name_taken(db, name, o->id, e);
    sy_stmt *st = NULL;
    if (rc == 0)
        rc = sy_db_prepare(db,
                           o->id ? "UPDATE forms SET name = ?2, description = ?3, questions = ?4, "
                                   "updated_at = ?5 WHERE id = ?1"
                                 : "INSERT INTO forms (name, description, questions, created_at, "
                                   "updated_at) VALUES (?2, ?3, ?4, ?5, ?5)",
                           &st, e);
    if (rc == 0) {
        if (o->id) sy_stmt_bind_int(st, 1, o->id);
        sy_stmt_bind_text(st, 2, name);
        if (json_is_string(desc))
            sy_stmt_bind_text(st, 3, json_string_value(desc));
        else
            sy_stmt_bind_null(st, 3);
        sy_stmt_bind_text(st, 4, qtext);
        sy_stmt_bind_int(st, 5, sy_now_ms());
        rc = sy_stmt_step(st, e);
        if (rc > 0) rc = 0;
    }
    sy_stmt_finalize(st);
    free(qtext);
    json_decref(cur);
    if (rc) return rc;
    int create = !o->id;
    if (create) o->id = sy_db_last_id(db);
    if ((rc = audit_form(db, o, create ? "tags.form.create" : "tags.form.update", e))) return rc;
    return form_load(db, o->id, &o->result, e);
}

static int job_submission(sy_db *db, void *arg, sy_err *e) {
    form_op *o = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "INSERT INTO form_submissions (form_id, contact_id, answers, tag_ids, "
                           "at, by_staff, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           &st, e);
    if (rc) return rc;
    char *answers = json_dumps(json_object_get(o->body, "answers"), JSON_COMPACT);
    char *tags = json_dumps(o->tag_ids, JSON_COMPACT);
    int64_t now = sy_now_ms();
    sy_stmt_bind_int(st, 1, o->id);
    sy_stmt_bind_int(st, 2, o->contact);
    sy_stmt_bind_text(st, 3, answers);
    sy_stmt_bind_text(st, 4, tags);
    sy_stmt_bind_int(st, 5, now);
    if (o->actor && o->actor->staff_id)
        sy_stmt_bind_int(st, 6, o->actor->staff_id);
    else
        sy_stmt_bind_null(st, 6);
    sy_stmt_bind_text(st, 7, o->source);
    rc = sy_stmt_step(st, e);
    sy_stmt_finalize(st);
    free(answers);
    free(tags);
    if (rc < 0) return rc;
    int64_t sid = sy_db_last_id(db);
    o->result = json_pack("{s:I,s:I,s:I,s:O,s:O,s:I}", "id", (json_int_t)sid, "form_id",
                          (json_int_t)o->id, "contact_id", (json_int_t)o->contact, "answers",
                          json_object_get(o->body, "answers"), "tag_ids", o->tag_ids, "at",
                          (json_int_t)now);
    return audit_form(db, o, "tags.form.submit", e);
}

/* --- handlers --- */

static const char *const form_fields[] = {"name", "description", "questions", NULL};

static int form_check(sy_req *r, json_t *b, int create) {
    const char *s;
    int present, rc;
    if ((rc = sy_json_str(b, "name", &s, &present, &r->err))) return rc;
    if (!present && create)
        return sy_err_field(&r->err, SY_E_INVALID, "name", "field \"name\" is required");
    if (present && (rc = sy_tags_check_text("name", s, SY_TAGS_NAME_MAX, &r->err))) return rc;
    json_t *d = json_object_get(b, "description");
    if (d && !json_is_null(d) &&
        (!json_is_string(d) || sy_utf8_len(json_string_value(d)) > SY_TAGS_DESC_MAX))
        return sy_err_field(&r->err, SY_E_INVALID, "description",
                            "field \"description\" must be a string of at most %d characters",
                            SY_TAGS_DESC_MAX);
    json_t *q = json_object_get(b, "questions");
    if (!q && create)
        return sy_err_field(&r->err, SY_E_INVALID, "questions", "field \"questions\" is required");
    if (q && ((rc = sy_tags_form_shape(q, &r->err)) || (rc = form_tags_check(CTX(r), q, &r->err))))
        return rc;
    return 0;
}

static int h_form_save(sy_req *r, int create) {
    form_op o = {.t = CTX(r), .actor = sy_req_actor(r)};
    int rc = create ? 0 : sy_req_param_id(r, "id", &o.id);
    if (rc == 0) rc = sy_req_json(r, &o.body);
    if (rc == 0) rc = sy_json_only(o.body, form_fields, &r->err);
    if (rc == 0) rc = form_check(r, o.body, create);
    if (rc == 0) rc = sy_store_write(o.t->st, job_form_save, &o, &r->err);
    if (rc) {
        json_decref(o.result);
        return rc;
    }
    return sy_reply_json(r, create ? 201 : 200, o.result);
}

static int h_form_create(sy_req *r) {
    return h_form_save(r, 1);
}
static int h_form_patch(sy_req *r) {
    return h_form_save(r, 0);
}

static int h_form_get(sy_req *r) {
    int64_t id;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc) return rc;
    sy_db *db;
    json_t *out = NULL;
    if ((rc = sy_store_read_begin(CTX(r)->st, &db, &r->err))) return rc;
    rc = form_load(db, id, &out, &r->err);
    sy_store_read_end(CTX(r)->st, db);
    return rc ? rc : sy_reply_json(r, 200, out);
}

static int h_form_list(sy_req *r) {
    int64_t limit = 50, after = 0;
    const char *l = sy_req_query(r, "limit"), *c = sy_req_query(r, "cursor");
    if (l && (sy_parse_i64(l, &limit) || limit < 1 || limit > 500))
        return sy_err_field(&r->err, SY_E_INVALID, "limit",
                            "limit \"%.20s\" is not between 1 and 500", l);
    if (c && (sy_parse_i64(c, &after) || after < 0))
        return sy_err_field(&r->err, SY_E_INVALID, "cursor", "cursor \"%.40s\" is not valid", c);
    sy_db *db;
    int rc = sy_store_read_begin(CTX(r)->st, &db, &r->err);
    if (rc) return rc;
    int64_t total = 0;
    rc = sy_db_query_int(db, "SELECT count(*) FROM forms", &total, &r->err);
    sy_stmt *st = NULL;
    if (rc == 0)
        rc = sy_db_prepare(db, "SELECT " FORM_COLS " FROM forms WHERE id > ?1 ORDER BY id LIMIT ?2",
                           &st, &r->err);
    json_t *items = json_array();
    int64_t last = 0;
    int more = 0;
    if (rc == 0) {
        sy_stmt_bind_int(st, 1, after);
        sy_stmt_bind_int(st, 2, limit + 1);
        while ((rc = sy_stmt_step(st, &r->err)) == SY_ROW) {
            if ((int64_t)json_array_size(items) == limit) {
                more = 1;
                continue;
            }
            last = sy_stmt_col_int(st, 0);
            json_array_append_new(items, form_row(st));
        }
        if (rc == SY_DONE) rc = 0;
    }
    sy_stmt_finalize(st);
    sy_store_read_end(CTX(r)->st, db);
    if (rc) {
        json_decref(items);
        return rc;
    }
    char cur[24];
    snprintf(cur, sizeof cur, "%lld", (long long)last);
    return sy_reply_json(r, 200,
                         json_pack("{s:o,s:I,s:o}", "items", items, "total", (json_int_t)total,
                                   "next_cursor", more ? json_string(cur) : json_null()));
}

int sy_tags_form_submit(sy_tags *t, const sy_actor *actor, int64_t form_id, int64_t contact_id,
                        json_t *answers, const char *source, json_t **result, sy_err *e) {
    *result = NULL;
    json_t *form = NULL,
           *body = json_pack("{s:I,s:O}", "contact_id", (json_int_t)contact_id, "answers", answers);
    form_op o = {.t = t,
                 .actor = actor,
                 .id = form_id,
                 .contact = contact_id,
                 .body = body,
                 .source = source};
    sy_db *db;
    int rc = sy_store_read_begin(t->st, &db, e);
    if (rc == 0) {
        rc = form_load(db, form_id, &form, e);
        sy_store_read_end(t->st, db);
    }
    int64_t tags[256];
    size_t n = 0;
    if (rc == 0)
        rc = sy_tags_form_answer_tags(json_object_get(form, "questions"), answers, tags,
                                      SY_ARRAY_LEN(tags), &n, e);
    json_decref(form);
    if (rc) {
        json_decref(body);
        return rc;
    }
    o.tag_ids = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(o.tag_ids, json_integer(tags[i]));
    rc = sy_store_write(t->st, job_submission, &o, e);
    json_t *applied = json_array();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t changed;
        sy_err we;
        sy_err_clear(&we);
        /* a tag deleted since the form was saved is skipped */
        int wr =
            sy_tags_write_members_src(t, actor, tags[i], &contact_id, 1, 1, "form", &changed, &we);
        if (wr == 0 && changed) json_array_append_new(applied, json_integer(tags[i]));
        if (wr && wr != SY_E_NOT_FOUND) {
            *e = we;
            rc = wr;
        }
    }
    json_decref(o.tag_ids);
    json_decref(body);
    if (rc) {
        json_decref(o.result);
        json_decref(applied);
        return rc;
    }
    json_object_set_new(o.result, "added", applied);
    *result = o.result;
    return 0;
}

static int h_submit(sy_req *r) {
    static const char *const fields[] = {"contact_id", "answers", NULL};
    sy_tags *t = CTX(r);
    json_t *body, *out;
    int64_t id, cid = 0, live;
    int present;
    int rc = sy_req_param_id(r, "id", &id);
    if (rc == 0) rc = sy_req_json(r, &body);
    if (rc == 0) rc = sy_json_only(body, fields, &r->err);
    if (rc == 0) rc = sy_json_int(body, "contact_id", &cid, &present, &r->err);
    if (rc == 0 && (!present || cid < 1))
        rc = sy_err_field(&r->err, SY_E_INVALID, "contact_id",
                          "field \"contact_id\" must be a contact id");
    /* the answers are checked before the contact so that a bad body is a
     * 400 whoever it names; an unknown form is a 404 */
    if (rc == 0) {
        sy_db *db;
        json_t *form = NULL;
        if ((rc = sy_store_read_begin(t->st, &db, &r->err)) == 0) {
            rc = form_load(db, id, &form, &r->err);
            sy_store_read_end(t->st, db);
        }
        int64_t tags[256];
        size_t n;
        if (rc == 0)
            rc = sy_tags_form_answer_tags(json_object_get(form, "questions"),
                                          json_object_get(body, "answers"), tags,
                                          SY_ARRAY_LEN(tags), &n, &r->err);
        json_decref(form);
    }
    if (rc == 0)
        rc = sy_contacts_visible(t->contacts, r->arena, sy_req_actor(r), cid, &live, &r->err);
    if (rc == 0)
        rc = sy_tags_form_submit(t, sy_req_actor(r), id, live, json_object_get(body, "answers"),
                                 sy_tags_source_of(sy_req_actor(r)), &out, &r->err);
    return rc ? rc : sy_reply_json(r, 201, out);
}

#define R SY_PERM_CONTACTS_READ
#define W SY_PERM_CONTACTS_WRITE
#define M SY_PERM_SETTINGS_MANAGE
#define S SY_AUTH_STAFF

static sy_route form_routes[] = {
    {"GET", "/api/v1/forms", h_form_list, NULL, S, R, 0, "list forms (questionnaires)"},
    {"POST", "/api/v1/forms", h_form_create, NULL, S, M, 256 * 1024,
     "create a form whose options map to tags"},
    {"GET", "/api/v1/forms/{id}", h_form_get, NULL, S, R, 0, "read a form"},
    {"PATCH", "/api/v1/forms/{id}", h_form_patch, NULL, S, M, 256 * 1024, "change a form"},
    {"POST", "/api/v1/forms/{id}/submissions", h_submit, NULL, S, R | W, 64 * 1024,
     "submit answers for a contact: applies the chosen options' tags"},
};

void sy_tags_forms_register(sy_tags *t, sy_http *h) {
    for (size_t i = 0; i < SY_ARRAY_LEN(form_routes); i++)
        form_routes[i].ctx = t;
    sy_http_add_routes(h, form_routes, SY_ARRAY_LEN(form_routes));
}
