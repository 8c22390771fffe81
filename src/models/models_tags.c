/* models_tags.c — turns the models' results into tags of kind "model":
 * RFM groups, purchase-frequency tiers per category, predicted interests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "models_int.h"

#define REFRESH_MS (5 * 60 * 1000)
#define INTEREST_MIN 1.0f /* interest score a category needs to become a tag */

static const char RFM_CAT[] = "RFM 价值分层",
                  RFM_SCN[] = "按客户价值分层运营：重要价值客户重点维护，重要挽留客户优先召回";
static const char FREQ_CAT[] = "购买频次",
                  FREQ_SCN[] = "按各品类自身的复购节奏触达：高频客户提醒补货，低频客户唤醒";
static const char INT_CAT[] = "兴趣预测",
                  INT_SCN[] = "按预测兴趣推荐商品与内容（行为时间衰减 + 品类共购相似度）";
static const char *const tier_names[4] = {"", "高频", "中频", "低频"};

void sy_models_set_tags(sy_models *m, struct sy_tags *tags) {
    m->tags = tags;
}

/* Writes one model tag's members; counts what it touched. */
static int put(sy_models *m, const char *cat, const char *scn, const char *name, sy_idset *want,
               sy_err *e) {
    int64_t id;
    int rc = sy_tags_ensure_model_tag(m->tags, cat, scn, name, &id, e);
    if (rc == 0) rc = sy_tags_set_model_members(m->tags, id, want, NULL, NULL, e);
    if (rc == 0) m->n_model_tags++;
    return rc;
}

int models_refresh_tags(sy_models *m, sy_err *e) {
    if (!m->tags) return 0;
    int64_t t0 = sy_mono_ms();
    model_state *s;
    int rc = model_current(m, &s, e);
    if (rc) return rc;
    sy_idset *live = NULL;
    if ((rc = sy_contacts_select_all(m->contacts, &live, e))) {
        model_state_put(m, s);
        return rc;
    }
    size_t k = (size_t)s->k;
    /* sets: 8 RFM groups, k×3 tiers, k interests */
    size_t n_sets = 8 + k * 4;
    sy_idset **sets = calloc(n_sets, sizeof *sets);
    for (size_t i = 0; sets && i < n_sets; i++)
        sets[i] = sy_idset_create();
    for (size_t c = 0; sets && c < s->n; c++) {
        if (!sy_idset_contains(live, (uint32_t)c)) continue;
        model_rfm_t x;
        if (model_rfm(s, (uint32_t)c, &x)) sy_idset_add(sets[x.group], (uint32_t)c);
        for (size_t j = 1; j < k; j++) {
            int64_t mi;
            int tier = model_tier(s, (uint32_t)c, (int)j, &mi);
            if (tier) sy_idset_add(sets[8 + j * 3 + (size_t)tier - 1], (uint32_t)c);
        }
        int cats[3];
        float sc[3];
        size_t n = model_interests(s, (uint32_t)c, cats, sc, 3, 0);
        for (size_t i = 0; i < n; i++)
            if (sc[i] >= INTEREST_MIN) sy_idset_add(sets[8 + k * 3 + (size_t)cats[i]], (uint32_t)c);
    }
    m->n_model_tags = 0;
    for (int g = 0; sets && rc == 0 && g < 8; g++)
        rc = put(m, RFM_CAT, RFM_SCN, model_group_labels[g], sets[g], e);
    for (size_t j = 1; sets && rc == 0 && j < k; j++) {
        char cname[96];
        sy_events_dim_name(m->events, SY_DIM_CATEGORY, (uint16_t)j, cname, sizeof cname);
        if (!cname[0]) continue;
        for (int tier = 1; rc == 0 && tier <= 3; tier++) {
            char name[160];
            snprintf(name, sizeof name, "%s·%s", cname, tier_names[tier]);
            rc = put(m, FREQ_CAT, FREQ_SCN, name, sets[8 + j * 3 + (size_t)tier - 1], e);
        }
        if (rc == 0) rc = put(m, INT_CAT, INT_SCN, cname, sets[8 + k * 3 + j], e);
    }
    if (!sets && rc == 0) rc = sy_err_set(e, SY_E_NOMEM, "out of memory");
    for (size_t i = 0; sets && i < n_sets; i++)
        sy_idset_destroy(sets[i]);
    free(sets);
    sy_idset_destroy(live);
    model_state_put(m, s);
    m->last_refresh_ms = sy_mono_ms() - t0;
    return rc;
}

static void *refresher_main(void *arg) {
    sy_models *m = arg;
    int64_t next = sy_mono_ms() + REFRESH_MS;
    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        int64_t now = sy_mono_ms();
        if (!m->refresh_now && now < next) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t wait = next - now > 1000 ? 1000 : next - now;
            ts.tv_nsec += wait * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&m->wake, &m->lock, &ts);
            continue;
        }
        m->refresh_now = 0;
        pthread_mutex_unlock(&m->lock);
        sy_err e;
        if (models_refresh_tags(m, &e))
            sy_warn("msg=\"model tags not refreshed\" error=\"%s\"", e.msg);
        next = sy_mono_ms() + REFRESH_MS;
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

int models_refresh_start(sy_models *m) {
    if (!m->tags || m->refresher_running) return 0;
    /* The first refresh runs before serving, so that nobody sees the model
     * tags appear mid-session (milliseconds at demo scale, seconds at 1 M). */
    sy_err e;
    if (models_refresh_tags(m, &e)) sy_warn("msg=\"model tags not refreshed\" error=\"%s\"", e.msg);
    pthread_cond_init(&m->wake, NULL);
    if (pthread_create(&m->refresher, NULL, refresher_main, m) != 0) return SY_E_INTERNAL;
    m->refresher_running = 1;
    return 0;
}

void models_refresh_stop(sy_models *m) {
    if (!m->refresher_running) return;
    pthread_mutex_lock(&m->lock);
    m->stopping = 1;
    pthread_cond_broadcast(&m->wake);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->refresher, NULL);
    pthread_cond_destroy(&m->wake);
    m->refresher_running = 0;
}
