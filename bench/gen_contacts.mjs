#!/usr/bin/env node
// gen_contacts.mjs — writes N rows of realistic Chinese contacts CSV, the
// shape operators export from Excel or another CRM: header 姓名,手机号,邮箱,
// 公司,城市,性别,生日,来源,负责人,门店; phones in the formats people type
// (+86 138-1234-5678, 0086…, spaces); some quoted companies with commas.
// Deterministic for a given --seed. Phones and e-mails are unique per row, so
// an import into an empty workspace creates N contacts.
//
//   node bench/gen_contacts.mjs --rows 100000 [--encoding utf8|utf8-bom|gbk]
//        [--seed 1] [--owners 张三,李四] [--sources 公众号,…] [--stores 上海徐汇店,…]
//        [--out FILE]
//
// --owners, --sources and --stores name things the target workspace has
// (staff, acquisition channels, stores); an importer rejects unknown ones.
// Without --sources a realistic default list is used; without --owners or
// --stores those columns stay empty.
//
// GBK output is encoded here with a table built from Node's ICU GBK decoder
// (Node has no GBK encoder), so no iconv is needed. Line ends are CRLF, as
// Excel writes them.
import { writeFileSync, writeSync } from 'node:fs';

function parseArgs(argv) {
  const o = { rows: 1000, encoding: 'utf8', seed: 1, owners: '', sources: '', stores: '', out: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (!k.startsWith('--') || !(k.slice(2) in o) || v === undefined) {
      process.stderr.write(`gen_contacts: unknown or incomplete option "${k}"\n`);
      process.exit(2);
    }
    o[k.slice(2)] = v;
    i++;
  }
  o.rows = Number(o.rows);
  o.seed = Number(o.seed);
  if (!Number.isInteger(o.rows) || o.rows < 0) {
    process.stderr.write(`gen_contacts: --rows must be a non-negative integer, got "${o.rows}"\n`);
    process.exit(2);
  }
  if (!['utf8', 'utf8-bom', 'gbk'].includes(o.encoding)) {
    process.stderr.write(`gen_contacts: --encoding must be utf8, utf8-bom or gbk, got "${o.encoding}"\n`);
    process.exit(2);
  }
  return o;
}

// mulberry32: small, fast, good enough for synthetic data.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SURNAMES = ('王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁' +
  '任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤').split('');
const DOUBLE_SURNAMES = ['欧阳', '司马', '上官', '诸葛', '东方'];
const GIVEN = ('伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国文斌宇浩凯欣怡' +
  '婷雪琳晨阳子轩梓涵思雨博文佳琪一诺嘉欣俊杰志强晓梅海燕丹宁雯蕾倩颖璐瑶瑾萱悦').split('');
const PINYIN = ['wang', 'li', 'zhang', 'liu', 'chen', 'yang', 'huang', 'zhao', 'wu', 'zhou', 'xu', 'sun', 'ma',
  'zhu', 'hu', 'guo', 'he', 'gao', 'lin', 'luo', 'wei', 'fang', 'na', 'min', 'jing', 'li', 'qiang', 'lei', 'jun',
  'yang', 'yong', 'yan', 'jie', 'juan', 'tao', 'ming', 'chao', 'xiu', 'xia', 'ping', 'gang', 'hua'];
const MAIL_DOMAINS = ['qq.com', 'qq.com', 'qq.com', '163.com', '163.com', '126.com', 'sina.com', 'foxmail.com',
  'gmail.com', 'outlook.com', 'example.com'];
const CITIES = [['上海', 14], ['北京', 12], ['深圳', 10], ['广州', 9], ['杭州', 8], ['成都', 7], ['武汉', 5],
  ['南京', 5], ['苏州', 4], ['西安', 4], ['重庆', 4], ['长沙', 3], ['天津', 3], ['青岛', 2], ['厦门', 2],
  ['宁波', 2], ['郑州', 2], ['合肥', 2], ['昆明', 1], ['大连', 1]];
const COMPANY_WORDS = ['星河', '青禾', '悦享', '华信', '金桥', '鼎盛', '恒通', '瑞丰', '优品', '博远', '天成',
  '安达', '新锐', '汇智', '嘉禾', '云帆', '锦程', '宏图', '海纳', '启明'];
const INDUSTRIES = ['科技', '电子商务', '餐饮管理', '贸易', '文化传媒', '教育咨询', '生物医药', '物流',
  '美妆', '母婴用品', '家居', '茶业', '服饰', '健身', '旅游', '房地产经纪'];
const SOURCES = [['门店扫码', 25], ['公众号', 15], ['抖音广告', 12], ['小红书', 8], ['转介绍', 12],
  ['合作伙伴', 6], ['展会', 4], ['企业微信', 12], ['官网表单', 6]];
const MOBILE_PREFIXES = ['130', '131', '132', '133', '134', '135', '136', '137', '138', '139', '145', '147',
  '150', '151', '152', '153', '155', '156', '157', '158', '159', '166', '170', '171', '173', '175', '176',
  '177', '178', '180', '181', '182', '183', '184', '185', '186', '187', '188', '189', '191', '198', '199'];

function weighted(list, r) {
  let total = 0;
  for (const [, w] of list) total += w;
  let x = r() * total;
  for (const [v, w] of list) {
    if ((x -= w) < 0) return v;
  }
  return list[list.length - 1][0];
}
const pick = (arr, r) => arr[Math.floor(r() * arr.length)];
const pad = (n, w) => String(n).padStart(w, '0');

// Row i's phone: a prefix and 8 digits from i through a bijection of
// [0, 1e8) (multiply by a unit mod 1e8), so phones never repeat below 1e8 rows.
function phone(i, r) {
  const prefix = MOBILE_PREFIXES[i % MOBILE_PREFIXES.length];
  const rest = pad(Number((BigInt(Math.floor(i / MOBILE_PREFIXES.length)) * 73939133n + 20240917n) % 100000000n), 8);
  const d = prefix + rest;
  const f = r();
  if (f < 0.80) return d;
  if (f < 0.88) return `+86 ${d.slice(0, 3)}-${d.slice(3, 7)}-${d.slice(7)}`;
  if (f < 0.93) return `0086${d}`;
  if (f < 0.97) return `${d.slice(0, 3)} ${d.slice(3, 7)} ${d.slice(7)}`;
  return `+86${d}`;
}

function csvField(s) {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function makeRow(i, r, owners, sources, stores) {
  const surname = r() < 0.01 ? pick(DOUBLE_SURNAMES, r) : pick(SURNAMES, r);
  const given = pick(GIVEN, r) + (r() < 0.7 ? pick(GIVEN, r) : '');
  const city = weighted(CITIES, r);
  const email = r() < 0.7 ? `${pick(PINYIN, r)}${pick(PINYIN, r)}${i}@${pick(MAIL_DOMAINS, r)}` : '';
  let company = '';
  if (r() < 0.6) {
    company = `${city}${pick(COMPANY_WORDS, r)}${pick(INDUSTRIES, r)}有限公司`;
    if (r() < 0.03) company += `, ${pick(CITIES, r)[0]}分公司`;
  }
  const g = r();
  const gender = g < 0.46 ? '男' : g < 0.92 ? '女' : '';
  const birthday = r() < 0.7
    ? `${1960 + Math.floor(r() * 46)}-${pad(1 + Math.floor(r() * 12), 2)}-${pad(1 + Math.floor(r() * 28), 2)}`
    : '';
  const source = sources.length ? pick(sources, r) : weighted(SOURCES, r);
  const owner = owners.length ? owners[i % owners.length] : '';
  const store = stores.length && r() < 0.6 ? pick(stores, r) : '';
  return [surname + given, phone(i, r), email, company, city, gender, birthday, source, owner, store]
    .map(csvField).join(',');
}

// Builds a map from BMP characters to their GBK bytes by decoding every GBK
// double-byte code (about 24,000) with ICU.
function gbkTable() {
  const dec = new TextDecoder('gbk', { fatal: true });
  const map = new Map();
  const pair = new Uint8Array(2);
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) {
      if (trail === 0x7f) continue;
      pair[0] = lead;
      pair[1] = trail;
      let ch;
      try {
        ch = dec.decode(pair);
      } catch {
        continue;
      }
      if (ch.length === 1 && !map.has(ch)) map.set(ch, (lead << 8) | trail);
    }
  }
  return map;
}

function encodeGbk(text, table) {
  const out = Buffer.allocUnsafe(text.length * 2);
  let o = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c < 0x80) {
      out[o++] = c;
      continue;
    }
    const v = table.get(ch);
    if (v === undefined) throw new Error(`character "${ch}" has no GBK encoding`);
    out[o++] = v >> 8;
    out[o++] = v & 0xff;
  }
  return out.subarray(0, o);
}

const opt = parseArgs(process.argv.slice(2));
const r = rng(opt.seed);
const owners = opt.owners ? opt.owners.split(',').filter(Boolean) : [];
const stores = opt.stores ? opt.stores.split(',').filter(Boolean) : [];
const sources = opt.sources ? opt.sources.split(',').filter(Boolean) : [];
const lines = ['姓名,手机号,邮箱,公司,城市,性别,生日,来源,负责人,门店'];
for (let i = 0; i < opt.rows; i++) lines.push(makeRow(i, r, owners, sources, stores));
const text = lines.join('\r\n') + '\r\n';

let bytes;
if (opt.encoding === 'gbk') bytes = encodeGbk(text, gbkTable());
else if (opt.encoding === 'utf8-bom') bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
else bytes = Buffer.from(text);

if (opt.out) writeFileSync(opt.out, bytes);
else {
  for (let off = 0; off < bytes.length;) off += writeSync(1, bytes, off, bytes.length - off);
}
