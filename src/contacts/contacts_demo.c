/* contacts_demo.c — a believable, deterministic lead library for `siyu demo`:
 * acquisition channels, then n contacts with phones, e-mails, owners among
 * the demo staff, stores, follow-up states, followers, notes and consent.
 * Written in chunks of SY_CONTACTS_CHUNK contacts per write job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contacts_int.h"

/* splitmix64: small, fast, good enough for demo data and deterministic. */
static uint64_t next_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static size_t pick(uint64_t *s, size_t n) {
    return (size_t)(next_rand(s) % n);
}

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
                                       "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高",
                                       "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯"};
static const char *const given[] = {"伟",   "芳",   "娜",   "敏",   "静",   "丽",   "强",   "磊",
                                    "军",   "洋",   "勇",   "艳",   "杰",   "娟",   "涛",   "明",
                                    "超",   "秀英", "霞",   "平",   "刚",   "桂英", "晨",   "思远",
                                    "雨桐", "子涵", "浩然", "欣怡", "梓萱", "宇航", "佳怡", "俊杰"};
static const char *const cities[] = {"上海", "杭州"};
static const char *const companies[] = {"",         "",         "",         "华联超市",
                                        "星辰科技", "蓝海贸易", "悦来餐饮", "恒通物流",
                                        "青禾教育", "云帆传媒", "安居地产", "百味食品"};
static const char *const notes[] = {
    "电话沟通，客户对会员卡感兴趣，下周到店",
    "已加企业微信，发送了新品资料",
    "客户询问团购价格，待报价",
    "到店体验，满意度较高",
    "客户表示近期预算有限，一个月后再联系",
    "已邀请进入会员群",
    "客户反馈上次配送延迟，已致歉并补发优惠券",
    "约定周末到店试用",
};

typedef struct demo_job {
    const sy_staff_demo *staff;
    uint64_t rng;
    uint64_t seed;
    size_t from, to;
    int64_t now;
    int64_t channels[12];
    size_t n_channels;
    const int64_t *owners; /* staff ids that own leads */
    size_t n_owners;
} demo_job;

static int channels_job(sy_db *db, void *arg, sy_err *e) {
    demo_job *j = arg;
    sy_stmt *st;
    int rc = sy_db_prepare(db,
                           "INSERT OR IGNORE INTO contact_channels(name, kind, code, created_at, "
                           "updated_at) VALUES (?,?,?,?,?)",
                           &st, e);
    if (rc) return rc;
    struct {
        const char *name, *kind, *code;
    } fixed[] = {{"抖音信息流广告", "ads", "ads-douyin"},
                 {"百度搜索推广", "ads", "ads-baidu"},
                 {"合作伙伴-银行联名", "partner", "partner-bank"},
                 {"老带新推荐", "referral", "referral"},
                 {"其他", "other", NULL}};
    char name[64], code[32];
    for (size_t i = 0; i < j->staff->n_stores && i < 6; i++) {
        snprintf(name, sizeof name, "门店码-%lld", (long long)j->staff->store_ids[i]);
        snprintf(code, sizeof code, "store-%lld", (long long)j->staff->store_ids[i]);
        sy_stmt_bind_text(st, 1, name);
        sy_stmt_bind_text(st, 2, "store_code");
        sy_stmt_bind_text(st, 3, code);
        sy_stmt_bind_int(st, 4, j->now);
        sy_stmt_bind_int(st, 5, j->now);
        if ((rc = sy_stmt_step(st, e)) < 0) break;
        sy_stmt_reset(st);
    }
    for (size_t i = 0; rc >= 0 && i < SY_ARRAY_LEN(fixed); i++) {
        sy_stmt_bind_text(st, 1, fixed[i].name);
        sy_stmt_bind_text(st, 2, fixed[i].kind);
        sy_stmt_bind_text(st, 3, fixed[i].code);
        sy_stmt_bind_int(st, 4, j->now);
        sy_stmt_bind_int(st, 5, j->now);
        rc = sy_stmt_step(st, e);
        sy_stmt_reset(st);
    }
    sy_stmt_finalize(st);
    if (rc < 0) return rc;
    if ((rc = sy_db_prepare(db, "SELECT id FROM contact_channels ORDER BY id LIMIT 12", &st, e)))
        return rc;
    j->n_channels = 0;
    while ((rc = sy_stmt_step(st, e)) == SY_ROW)
        j->channels[j->n_channels++] = sy_stmt_col_int(st, 0);
    sy_stmt_finalize(st);
    return rc < 0 ? rc : 0;
}

static int step_reset(sy_stmt *st, sy_err *e) {
    int rc = sy_stmt_step(st, e);
    sy_stmt_reset(st);
    return rc < 0 ? rc : 0;
}

static int contacts_job(sy_db *db, void *arg, sy_err *e) {
    demo_job *j = arg;
    sy_stmt *ins = NULL, *ident = NULL, *fol = NULL, *tl = NULL, *cons = NULL;
    int rc;
    if ((rc = sy_db_prepare(db,
                            "INSERT INTO contacts(name, phone, phone_tail, email, gender, "
                            "birthday, city, company, source_id, "
                            "owner_id, department_id, store_id, status, created_at, updated_at, "
                            "owned_at, last_follow_up_at, "
                            "next_follow_up_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            &ins, e)) ||
        (rc = sy_db_prepare(
             db,
             "INSERT INTO contact_identities(type, value, contact_id, created_at) VALUES (?,?,?,?)",
             &ident, e)) ||
        (rc = sy_db_prepare(db,
                            "INSERT OR IGNORE INTO contact_followers(contact_id, staff_id, "
                            "created_at) VALUES (?,?,?)",
                            &fol, e)) ||
        (rc = sy_db_prepare(db,
                            "INSERT INTO contact_timeline(contact_id, kind, at, by_staff, data) "
                            "VALUES (?,?,?,?,?)",
                            &tl, e)) ||
        (rc = sy_db_prepare(db,
                            "INSERT INTO contact_consent(contact_id, channel, status, at, source, "
                            "purpose) VALUES (?,?,?,?,?,?)",
                            &cons, e)))
        goto out;
    static const char *const statuses[] = {"pending",   "pending", "following", "following",
                                           "following", "won",     "no_intent", "lost"};
    const int64_t day = 86400000;
    for (size_t i = j->from; i < j->to; i++) {
        uint64_t *s = &j->rng;
        char name[64], phone[20], email[64], birthday[40];
        snprintf(name, sizeof name, "%s%s", surnames[pick(s, SY_ARRAY_LEN(surnames))],
                 given[pick(s, SY_ARRAY_LEN(given))]);
        /* unique per index: a bijection of i over 13x/14x/15x numbers */
        uint64_t nat =
            13000000000ull + ((uint64_t)i * 7919ull + j->seed * 104729ull) % 600000000ull;
        snprintf(phone, sizeof phone, "+86%llu", (unsigned long long)nat);
        int has_email = pick(s, 100) < 45;
        snprintf(email, sizeof email, "lead%zu.s%llu@example.cn", i, (unsigned long long)j->seed);
        snprintf(birthday, sizeof birthday, "%04d-%02d-%02d", 1965 + (int)pick(s, 40),
                 1 + (int)pick(s, 12), 1 + (int)pick(s, 28));
        int64_t created = j->now - (int64_t)pick(s, 180) * day - (int64_t)pick(s, (size_t)day);
        int unowned = pick(s, 100) < 10;
        const sy_staff_demo_member *owner = NULL;
        if (!unowned && j->n_owners) {
            int64_t oid = j->owners[pick(s, j->n_owners)];
            for (size_t k = 0; k < j->staff->n_staff; k++)
                if (j->staff->staff[k].id == oid) owner = &j->staff->staff[k];
        }
        int64_t store = owner && owner->store_id ? owner->store_id
                        : j->staff->n_stores     ? j->staff->store_ids[pick(s, j->staff->n_stores)]
                                                 : 0;
        const char *status = unowned ? "pending" : statuses[pick(s, SY_ARRAY_LEN(statuses))];
        int64_t last_fu = 0;
        if (owner && strcmp(status, "pending")) {
            int64_t ago = (int64_t)pick(s, 90) * day;
            last_fu = j->now - ago > created ? j->now - ago : created;
        }
        sy_stmt_bind_text(ins, 1, name);
        sy_stmt_bind_text(ins, 2, phone);
        sy_stmt_bind_text(ins, 3, phone + strlen(phone) - 4);
        if (has_email) sy_stmt_bind_text(ins, 4, email);
        sy_stmt_bind_text(ins, 5, pick(s, 2) ? "female" : "male");
        if (pick(s, 100) < 60) sy_stmt_bind_text(ins, 6, birthday);
        sy_stmt_bind_text(ins, 7, cities[pick(s, 2)]);
        const char *co = companies[pick(s, SY_ARRAY_LEN(companies))];
        if (*co) sy_stmt_bind_text(ins, 8, co);
        if (j->n_channels) sy_stmt_bind_int(ins, 9, j->channels[pick(s, j->n_channels)]);
        if (owner) {
            sy_stmt_bind_int(ins, 10, owner->id);
            if (owner->department_id) sy_stmt_bind_int(ins, 11, owner->department_id);
            sy_stmt_bind_int(ins, 16, created);
        }
        if (store) sy_stmt_bind_int(ins, 12, store);
        sy_stmt_bind_text(ins, 13, status);
        sy_stmt_bind_int(ins, 14, created);
        sy_stmt_bind_int(ins, 15, last_fu ? last_fu : created);
        if (last_fu) sy_stmt_bind_int(ins, 17, last_fu);
        if (last_fu && strcmp(status, "following") == 0)
            sy_stmt_bind_int(ins, 18, j->now + (int64_t)(1 + pick(s, 14)) * day);
        if ((rc = step_reset(ins, e))) goto out;
        int64_t id = sy_db_last_id(db);
        sy_stmt_bind_text(ident, 1, "phone");
        sy_stmt_bind_text(ident, 2, phone);
        sy_stmt_bind_int(ident, 3, id);
        sy_stmt_bind_int(ident, 4, created);
        if ((rc = step_reset(ident, e))) goto out;
        if (has_email) {
            sy_stmt_bind_text(ident, 1, "email");
            sy_stmt_bind_text(ident, 2, email);
            sy_stmt_bind_int(ident, 3, id);
            sy_stmt_bind_int(ident, 4, created);
            if ((rc = step_reset(ident, e))) goto out;
        }
        if (pick(s, 100) < 30) {
            char ext[48];
            snprintf(ext, sizeof ext, "wm%016llx", (unsigned long long)next_rand(s));
            sy_stmt_bind_text(ident, 1, "wecom_external_userid");
            sy_stmt_bind_text(ident, 2, ext);
            sy_stmt_bind_int(ident, 3, id);
            sy_stmt_bind_int(ident, 4, created);
            if ((rc = step_reset(ident, e))) goto out;
        }
        /* a fifth of owned leads are followed by a second person (WeCom:
         * the salesperson and the store manager both added the customer) */
        if (owner && pick(s, 100) < 20 && j->n_owners > 1) {
            int64_t f = j->owners[pick(s, j->n_owners)];
            if (f != owner->id) {
                sy_stmt_bind_int(fol, 1, id);
                sy_stmt_bind_int(fol, 2, f);
                sy_stmt_bind_int(fol, 3, created);
                if ((rc = step_reset(fol, e))) goto out;
            }
        }
        if (last_fu) {
            char data[512];
            snprintf(data, sizeof data, "{\"note\":\"%s\"}", notes[pick(s, SY_ARRAY_LEN(notes))]);
            sy_stmt_bind_int(tl, 1, id);
            sy_stmt_bind_text(tl, 2, "follow_up");
            sy_stmt_bind_int(tl, 3, last_fu);
            sy_stmt_bind_int(tl, 4, owner->id);
            sy_stmt_bind_text(tl, 5, data);
            if ((rc = step_reset(tl, e))) goto out;
        }
        if (pick(s, 100) < 60) {
            sy_stmt_bind_int(cons, 1, id);
            sy_stmt_bind_text(cons, 2, "wecom");
            sy_stmt_bind_text(cons, 3, "granted");
            sy_stmt_bind_int(cons, 4, created);
            sy_stmt_bind_text(cons, 5, "form");
            sy_stmt_bind_text(cons, 6, "会员服务通知");
            if ((rc = step_reset(cons, e))) goto out;
        }
        if (pick(s, 100) < 40) {
            sy_stmt_bind_int(cons, 1, id);
            sy_stmt_bind_text(cons, 2, "sms");
            sy_stmt_bind_text(cons, 3, pick(s, 100) < 10 ? "withdrawn" : "granted");
            sy_stmt_bind_int(cons, 4, created);
            sy_stmt_bind_text(cons, 5, "form");
            sy_stmt_bind_text(cons, 6, "营销短信");
            if ((rc = step_reset(cons, e))) goto out;
        }
    }
out:
    sy_stmt_finalize(ins);
    sy_stmt_finalize(ident);
    sy_stmt_finalize(fol);
    sy_stmt_finalize(tl);
    sy_stmt_finalize(cons);
    return rc;
}

int sy_contacts_demo_seed(sy_contacts *c, const sy_staff_demo *staff, uint64_t seed, size_t n,
                          sy_err *e) {
    demo_job j;
    memset(&j, 0, sizeof j);
    j.staff = staff;
    j.seed = seed;
    j.rng = seed * 0x2545F4914F6CDD1Dull + 1;
    /* anchored to midnight UTC so two runs on one day give the same rows */
    j.now = sy_now_ms() / 86400000 * 86400000;
    int64_t owners[32];
    size_t no = 0;
    /* leads belong to the people who work them: sales, store managers,
     * group owners (admin and operations staff own none) */
    for (size_t i = 0; i < staff->n_staff && no < 32; i++) {
        const char *role = staff->staff[i].role;
        if (strcmp(role, "sales") == 0 || strcmp(role, "store_manager") == 0 ||
            strcmp(role, "group_owner") == 0)
            owners[no++] = staff->staff[i].id;
    }
    if (!no)
        for (size_t i = 0; i < staff->n_staff && no < 32; i++)
            owners[no++] = staff->staff[i].id;
    j.owners = owners;
    j.n_owners = no;
    int rc = sy_store_write(c->st, channels_job, &j, e);
    for (size_t from = 0; rc == 0 && from < n; from += SY_CONTACTS_CHUNK) {
        j.from = from;
        j.to = from + SY_CONTACTS_CHUNK < n ? from + SY_CONTACTS_CHUNK : n;
        rc = sy_store_write(c->st, contacts_job, &j, e);
    }
    return rc;
}
