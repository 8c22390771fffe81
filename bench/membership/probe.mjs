// probe.mjs — event-to-membership latency under ingestion load (issue 5 §5).
// While wrk drives /v1/batch at full speed, this sends probe events for new
// users, one at a time, and measures the time from the 200 of the probe to
// the segment_entered event of the saved segment "did probe_hit" appearing
// on the contact. Prints key=value lines.
//   node probe.mjs BASE_URL TOKEN WRITE_KEY PROBES
const [base, token, writeKey, probesArg] = process.argv.slice(2);
const probes = Number(probesArg || 50);
const H = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const basic = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

async function api(method, url, body) {
  const r = await fetch(base + url, { method, headers: H, body: body ? JSON.stringify(body) : undefined });
  const t = await r.text();
  if (r.status >= 400) throw new Error(`${method} ${url}: ${r.status} ${t}`);
  return t ? JSON.parse(t) : null;
}
async function track(userId, event) {
  const r = await fetch(`${base}/v1/track`, {
    method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' },
    body: JSON.stringify({ userId, event, messageId: `${userId}-${event}` }),
  });
  if (r.status !== 200) throw new Error(`track: ${r.status} ${await r.text()}`);
}

const run = `${process.pid}`;
await track(`probe-setup-${run}`, 'probe_hit'); // the event must be in the catalog
const seg = await api('POST', '/api/v1/segments', { name: `probe-${run}`, definition: { event: 'probe_hit', did: true } });
await new Promise((r) => setTimeout(r, 1500));
const lat = [];
let missed = 0;
for (let i = 0; i < probes; i++) {
  const user = `probe-${run}-${i}`;
  await track(user, 'probe_warm'); // the contact exists before the measured event
  const id = (await api('GET', `/api/v1/contacts/lookup?type=user_id&value=${user}`)).id;
  const t0 = performance.now();
  await track(user, 'probe_hit');
  const t1 = performance.now();
  let seen = 0;
  while (performance.now() - t1 < 10000) {
    const ev = await api('GET', `/api/v1/contacts/${id}/events?event=segment_entered&limit=5`);
    if (ev.items.some((x) => x.properties?.segment_id === seg.id)) { seen = performance.now(); break; }
    await new Promise((r) => setTimeout(r, 10));
  }
  if (seen) lat.push(seen - t0); else missed++;
}
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
console.log(`membership_latency probes=${probes} missed=${missed} p50_ms=${q(0.5)?.toFixed(0)} p99_ms=${q(0.99)?.toFixed(0)} max_ms=${lat[lat.length - 1]?.toFixed(0)}`);
process.exit(missed ? 1 : 0);
