// useQuestionPage.js — what every question page shares: the form state, the
// question kept in the URL (?q=<the API body as JSON>, so a link reopens and
// reruns it), running it with useQuery, and the body sent last (for the
// funnel's contact lists and "add to dashboard").
import { ref } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { analyticsApi, defaultForm, formFromBody, questionBody } from '../analyticsApi.js';
import { useQuery } from './useQuery.js';

export function useQuestionPage(kind, init) {
  const route = useRoute();
  const router = useRouter();
  const form = ref(defaultForm(kind));
  if (init) init(form.value);
  const q = useQuery((body, signal) => analyticsApi.run(kind, body, signal));
  const lastBody = ref(null);

  async function run() {
    const body = questionBody(kind, form.value);
    lastBody.value = body;
    const s = JSON.stringify(body);
    if (route.query.q !== s) router.replace({ query: { ...route.query, q: s } });
    return q.run(body);
  }
  let fromUrl = false;
  if (route.query.q) {
    try {
      form.value = formFromBody(kind, JSON.parse(String(route.query.q)));
      fromUrl = true;
    } catch { /* a bad link: keep the defaults */ }
  }
  return { form, q, run, lastBody, fromUrl };
}
