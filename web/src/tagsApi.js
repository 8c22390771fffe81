// tagsApi.js — the tag routes the console uses (docs/tags.md,
// docs/openapi/tags.json): the taxonomy (categories with their business
// scenario, tags), the tree with member counts, a contact's tags and bulk
// tagging by contact ids, phones or a whole segment; forms whose options
// map to tags, and their submissions.
import { api } from './api.js';

export const tagsApi = {
  tree: () => api.get('/tags/tree'),
  createCategory: (body) => api.post('/tag-categories', body),
  updateCategory: (id, body) => api.patch(`/tag-categories/${id}`, body),
  deleteCategory: (id) => api.del(`/tag-categories/${id}`),
  createTag: (body) => api.post('/tags', body),
  updateTag: (id, body) => api.patch(`/tags/${id}`, body),
  deleteTag: (id) => api.del(`/tags/${id}`),
  // body: {contact_ids: [...]}, {phones: [...]} or {segment_id: n}
  addMembers: (id, body) => api.post(`/tags/${id}/members`, body),
  removeMembers: (id, body) => api.post(`/tags/${id}/members/remove`, body),
  contactTags: (contactId) => api.get(`/contacts/${contactId}/tags`),
  tagContact: (contactId, tagIds) => api.post(`/contacts/${contactId}/tags`, { tag_ids: tagIds }),
  untagContact: (contactId, tagId) => api.del(`/contacts/${contactId}/tags/${tagId}`),
  forms: () => api.get('/forms', { limit: 500 }),
  form: (id) => api.get(`/forms/${id}`),
  createForm: (body) => api.post('/forms', body),
  updateForm: (id, body) => api.patch(`/forms/${id}`, body),
  submitForm: (id, body) => api.post(`/forms/${id}/submissions`, body),
};

// The tags a form's answers would apply ({question_id: option_id |
// [option_ids]}), as the server computes them: the union of the chosen
// options' tag_ids, ascending.
export function formAnswerTags(form, answers) {
  const out = new Set();
  for (const q of form.questions || []) {
    const a = answers[q.id];
    for (const oid of Array.isArray(a) ? a : a ? [a] : []) {
      const o = (q.options || []).find((x) => x.id === oid);
      for (const id of (o && o.tag_ids) || []) out.add(id);
    }
  }
  return [...out].sort((x, y) => x - y);
}

// Every tag of a tree answer, flattened, each with its category path
// ("意向 / 高意向") for pickers.
export function flattenTags(tree) {
  const out = [];
  const walk = (cats, prefix) => {
    for (const c of cats || []) {
      const path = prefix ? `${prefix} / ${c.name}` : c.name;
      for (const tg of c.tags || []) out.push({ ...tg, path });
      walk(c.children, path);
    }
  };
  walk(tree && tree.items);
  return out;
}
