// 中文 (default). Keys mirror en.js.
export default {
  app: { title: '私域运营平台', logout: '退出登录', scope: '数据范围' },
  menu: { overview: '概览', contacts: '客户', pool: '公海', import: '导入', export: '导出', settings: '设置' },
  session: { expiredTitle: '登录已过期', expiredBody: '登录已过期或已在别处退出，请重新登录。', loginAgain: '重新登录' },
  login: {
    subtitle: '客户资产与私域运营', username: '用户名', password: '密码', submit: '登录', needUsername: '请输入用户名',
    needPassword: '请输入密码', bad: '用户名或密码错误', tooMany: '尝试次数过多，请稍后再试',
  },
  common: {
    search: '搜索', reset: '重置', total: '共 {n} 条', perPage: '{n} 条/页', pageOf: '第 {p} / {n} 页', empty: '暂无数据',
    actions: '操作', save: '保存', saved: '已保存', cancel: '取消', confirm: '确定', create: '新建', edit: '编辑', delete: '删除',
    deleted: '已删除', confirmTitle: '请确认', confirmDelete: '确定删除“{name}”？此操作不可撤销。', required: '必填',
    forbidden: '没有权限', noFeature: '当前角色没有可用的功能，请联系管理员。', failed: '操作失败', loading: '加载中…',
    more: '加载更多', back: '上一步', noChanges: '没有改动', pickStaff: '选择员工',
  },
  contacts: {
    searchPh: '姓名 / 手机号 / 后四位 / 公司', status: '跟进状态', source: '来源渠道', owner: '负责人', store: '门店',
    department: '部门', filters: '筛选', createdFrom: '创建开始', createdTo: '创建结束', columns: '列设置', noName: '（未命名）',
    col: {
      name: '姓名', phone: '手机号', status: '跟进状态', source: '来源', owner: '负责人', store: '门店', company: '公司',
      city: '城市', email: '邮箱', gender: '性别', birthday: '生日', created_at: '创建时间', updated_at: '更新时间',
    },
  },
  pool: {
    hint: '无负责人的线索，认领后归你跟进', claim: '认领', claimed: '已认领 {name}', none: '公海', return: '退回公海',
    reason: '退回原因', needReason: '请填写退回原因', returned: '已退回公海',
  },
  owner: { change: '更换负责人', newOwner: '新负责人', confirm: '确定把该客户交给 {name}？' },
  detail: {
    title: '客户详情', profile: '资料', identities: '身份', attributes: '自定义属性', followups: '跟进记录', timeline: '时间线',
    followers: '跟进人', idType: '类型', idValue: '值', consent: '授权同意', channel: '渠道', agreed: '同意', where: '来源', purpose: '用途',
    when: '时间', noAttributes: '尚未定义自定义属性', notFound: '客户不存在或不在你的数据范围内',
  },
  followup: {
    note: '跟进内容', notePh: '本次沟通情况…', next: '下次跟进', add: '添加跟进', added: '已添加跟进记录', none: '还没有跟进记录',
    needNote: '请填写跟进内容',
  },
  merge: {
    planNote: '将移入 {n} 个身份、{f} 位跟进人。',
    button: '合并', with: '合并到…', title: '合并客户', rule: '保留方保留自身的 ID 与非空字段，空字段由另一方补全；所有身份合并到保留方。被合并方成为指向保留方的记录，管理员可撤销。',
    field: '字段', keep: '保留', result: '合并结果', allIdentities: '两方全部身份', confirm: '确认合并',
    confirmBody: '确定把 {loser} 合并到 {winner}？', done: '已合并', pickOther: '搜索要合并的另一位客户', preview: '预览合并',
  },
  handover: {
    button: '离职继承', title: '离职继承', hint: '把一位员工名下的全部客户一次性转给另一位员工，操作会记入审计日志。',
    from: '移出员工', to: '接收员工', count: '该员工名下共 {n} 位客户', run: '执行转移', same: '接收员工不能与移出员工相同',
    confirm: '确定把 {from} 名下的 {n} 位客户全部转给 {to}？', done: '已转移 {n} 位客户',
  },
  export: {
    currentFilter: '按当前筛选条件导出', noPerm: '当前角色没有导出权限（contacts.export）', fullPhones: '你有查看完整手机号的权限，导出文件包含完整手机号。',
    maskedPhones: '导出文件中的手机号将以 138****1234 的形式脱敏。', audited: '导出范围受数据权限限制，每次导出都会记入审计日志。',
    rows: '当前筛选共 {n} 位客户', download: '导出 CSV', done: '已下载 {name}（{size} 字节）', big: '将导出 {n} 行，可能需要一些时间，继续？',
  },
  import: {
    s1: '上传文件', s2: '编码与字段映射', s3: '试运行', s4: '导入', drop: '把 CSV 文件拖到这里，或点击选择',
    tip: '支持 UTF-8（含 BOM）与 GBK/GB18030（Excel 另存为的 CSV）', file: '文件', encoding: '编码', auto: '自动检测',
    detected: '检测结果', mappingHint: '已按表头自动匹配字段，可逐列修改；留空的列不导入。', column: '列', field: '导入为',
    skip: '不导入', dedupe: '重复客户（按手机号/邮箱）', dedupeUpdate: '更新', dedupeSkip: '跳过', strict: '严格模式（有任何错误则全部不导入）',
    dryRun: '试运行', rowsTotal: '总行数', rowsOk: '可导入', rowsBad: '有问题', rowsDup: '已存在', strictBlocked: '严格模式下存在问题行，不能导入。',
    row: '行', problem: '问题', noProblems: '没有发现问题', run: '开始导入 {n} 行', running: '正在导入 {d} / {n} 行…',
    finished: '导入完成', finishedBody: '新增 {ok}，更新 {up}，跳过 {sk}，拒绝 {bad}', errorReport: '下载错误报告', seeContacts: '查看客户',
    again: '重新上传', forced: '指定编码', line: '第 {n} 行', previewNote: '预览前 {shown} 行，共 {n} 行；标黄的单元格有问题。',
    f: {
      name: '姓名', phone: '手机号', email: '邮箱', company: '公司', city: '城市', gender: '性别', birthday: '生日', source: '来源',
      owner: '负责人（姓名）', owner_id: '负责人 ID', store: '门店（名称/编码）', store_id: '门店 ID', status: '跟进状态', note: '备注',
    },
  },
  overview: {
    total: '客户总数', pool: '公海线索', today: '今日新增', byStatus: '按跟进状态', bySource: '按来源渠道', byStore: '按门店',
    later: '更多看板', laterBody: '漏斗、留存与转化看板将在数据分析模块上线', scopeNote: '数据范围：{scope}',
  },
  settings: {
    tab: {
      workspace: '工作区', staff: '员工', departments: '部门', stores: '门店', roles: '角色与权限', channels: '获客渠道',
      attributes: '自定义属性', pool: '公海规则', tokens: 'API 令牌', writekeys: '写入密钥', audit: '审计日志',
    },
    wsName: '工作区名称', timezone: '时区', currency: '币种', username: '用户名', name: '名称', password: '密码',
    passwordPh: '至少 8 位；编辑时留空则不修改', role: '角色', state: '状态', active: '启用', inactive: '停用', deactivate: '停用',
    activate: '启用', deactivateConfirm: '停用 {name} 后其无法登录，名下客户请先做离职继承。继续？', staffCount: '人数', code: '编码',
    kind: '类型', attrKey: '字段键', attrLabel: '显示名', attrType: '类型', attrOptions: '可选值', attrOptionsPh: '枚举类型用逗号分隔',
    perms: '功能权限', builtin: '内置', resetPassword: '重置密码', resetPasswordBody: '为 {name} 设置新密码（至少 8 位），其现有登录会话将失效：',
  },
  poolSettings: {
    enabled: '自动回收', days: '未跟进天数', limit: '每人认领上限', runNow: '立即回收', runConfirm: '把超过 {d} 天未跟进的客户回收到公海？',
    recycled: '已回收 {n} 位客户',
  },
  secret: {
    once: '请立即复制保存，此密钥只显示这一次：', copy: '复制', copied: '已复制', prefix: '前缀', owner: '所属员工', lastUsed: '最近使用',
    revoked: '已吊销', revoke: '吊销',
  },
  audit: { action: '操作', who: '操作人', when: '时间', target: '对象', from: '来源地址', detail: '详情', system: '系统' },
  enum: {
    consentChannel: { wecom: '企业微信', sms: '短信', email: '邮件', phone: '电话' },
    consentStatus: { granted: '已同意', withdrawn: '已撤回' },
    consentSource: { import: '导入', form: '表单', sdk: 'SDK', staff: '员工' },
    status: { pending: '待跟进', following: '跟进中', won: '已成交', no_intent: '无意向', lost: '已流失' },
    gender: { male: '男', female: '女', unknown: '未知' },
    scope: { own: '本人', department: '本部门', store: '本门店', all: '全部' },
    role: { admin: '管理员', operations: '运营', sales: '销售', store_manager: '店长', group_owner: '群主' },
    identity: {
      phone: '手机号', email: '邮箱', user_id: '用户 ID', anonymous_id: '匿名 ID', wechat_unionid: '微信 UnionID',
      wechat_openid: '微信 OpenID', wecom_external_userid: '企微外部联系人', device_id: '设备 ID',
    },
    kind: {
      follow_up: '跟进', change: '变更', created: '创建', merge: '合并', merged_into: '被合并', unmerge: '撤销合并', claim: '认领',
      return: '退回公海', recycle: '自动回收', handover: '离职继承', consent: '授权', identity_added: '新增身份', follower_added: '新增跟进人',
      follower_removed: '移除跟进人',
    },
    perm: {
      'contacts_read': '查看客户', 'contacts_write': '编辑客户', 'contacts_merge': '合并客户', 'contacts_import': '导入',
      'contacts_export': '导出', 'contacts_phone': '查看完整手机号', 'pool_manage': '公海与交接', 'staff_manage': '员工/部门/门店',
      'roles_manage': '角色权限', 'settings_manage': '工作区设置', 'audit_read': '审计日志',
    },
    attrType: { text: '文本', number: '数字', date: '日期', enum: '枚举', bool: '是/否' },
    channelKind: { store_code: '门店码', ads: '公域广告', partner: '合作伙伴', referral: '转介绍', other: '其他' },
    action: {
      'auth_login': '登录', 'auth_logout': '退出', 'contacts_export': '导出客户', 'contacts_merge': '合并客户', 'contacts_unmerge': '撤销合并',
      'contacts_handover': '离职继承', 'contacts_import': '导入客户', 'contacts_phone_unmask': '查看手机号', 'pool_recycle': '公海回收', 'contacts_unmask_phone': '查看完整手机号', 'contacts_claim': '认领线索', 'contacts_return': '退回公海', 'contacts_recycle': '自动回收', 'pool_settings': '公海规则', 'channels_delete': '删除渠道', 'workspace_demo_seed': '创建演示工作区',
      'roles_create': '新建角色', 'roles_update': '修改角色', 'roles_delete': '删除角色', 'staff_create': '新建员工', 'staff_update': '修改员工',
      'auth_all': '全部登录相关', 'contacts_all': '全部客户操作', 'pool_all': '全部公海操作', 'roles_all': '全部角色操作', 'staff_all': '全部员工操作',
      'api_tokens_all': 'API 令牌', 'write_keys_all': '写入密钥', 'auth_login_failed': '登录失败', 'auth_login_rate_limited': '登录限流',
      'auth_password_change': '修改密码', 'staff_password_reset': '重置密码', 'staff_role_change': '变更角色', 'staff_activate': '启用员工',
      'staff_deactivate': '停用员工', 'settings_update': '修改工作区设置', 'api_tokens_create': '创建 API 令牌', 'api_tokens_revoke': '吊销 API 令牌',
      'write_keys_create': '创建写入密钥', 'write_keys_revoke': '吊销写入密钥', 'departments_create': '新建部门', 'departments_update': '修改部门',
      'departments_delete': '删除部门', 'stores_create': '新建门店', 'stores_update': '修改门店', 'stores_delete': '删除门店',
    },
  },
};
