// English. Keys mirror zh-CN.js.
export default {
  app: { title: 'siyu operations', logout: 'Sign out', scope: 'Data scope' },
  menu: { overview: 'Overview', contacts: 'Contacts', pool: 'Lead pool', import: 'Import', export: 'Export', settings: 'Settings' },
  session: { expiredTitle: 'Session expired', expiredBody: 'Your session has expired or you signed out elsewhere. Please sign in again.', loginAgain: 'Sign in again' },
  login: {
    subtitle: 'Customer library and private-domain operations', username: 'User name', password: 'Password', submit: 'Sign in',
    needUsername: 'Enter your user name', needPassword: 'Enter your password', bad: 'Wrong user name or password', tooMany: 'Too many attempts, try again later',
  },
  common: {
    search: 'Search', reset: 'Reset', total: '{n} in total', perPage: '{n} / page', pageOf: 'Page {p} of {n}', empty: 'No data',
    actions: 'Actions', save: 'Save', saved: 'Saved', cancel: 'Cancel', confirm: 'OK', create: 'New', edit: 'Edit', delete: 'Delete',
    deleted: 'Deleted', confirmTitle: 'Please confirm', confirmDelete: 'Delete “{name}”? This cannot be undone.', required: 'Required',
    forbidden: 'Not permitted', noFeature: 'Your role has no features enabled. Ask an administrator.', failed: 'Something went wrong',
    loading: 'Loading…', more: 'Load more', back: 'Back', noChanges: 'Nothing changed', pickStaff: 'Pick a staff member',
  },
  contacts: {
    searchPh: 'Name / phone / last 4 digits / company', status: 'Status', source: 'Source', owner: 'Owner', store: 'Store',
    department: 'Department', createdFrom: 'Created from', createdTo: 'Created to', columns: 'Columns', noName: '(no name)',
    col: {
      name: 'Name', phone: 'Phone', status: 'Status', source: 'Source', owner: 'Owner', store: 'Store', company: 'Company',
      city: 'City', email: 'Email', gender: 'Gender', birthday: 'Birthday', created_at: 'Created', updated_at: 'Updated',
    },
  },
  pool: {
    hint: 'Leads without an owner; claim one to follow it up', claim: 'Claim', claimed: 'Claimed {name}', none: 'Pool', return: 'Return to pool',
    reason: 'Reason', needReason: 'Give a reason', returned: 'Returned to the pool',
  },
  owner: { change: 'Change owner', newOwner: 'New owner', confirm: 'Give this contact to {name}?' },
  detail: {
    title: 'Contact', profile: 'Profile', identities: 'Identities', attributes: 'Custom attributes', followups: 'Follow-ups', timeline: 'Timeline',
    followers: 'Followers', idType: 'Type', idValue: 'Value', consent: 'Consent', channel: 'Channel', agreed: 'Agreed', purpose: 'Purpose',
    when: 'When', noAttributes: 'No custom attributes defined', notFound: 'Contact not found or outside your data scope',
  },
  followup: {
    note: 'Note', notePh: 'What happened in this contact…', next: 'Next follow-up', add: 'Add follow-up', added: 'Follow-up added',
    none: 'No follow-ups yet', needNote: 'Write a note',
  },
  merge: {
    button: 'Merge', with: 'Merge with…', title: 'Merge contacts', rule: 'The kept contact keeps its id and non-empty fields; empty ones are filled from the other; all identities move to it. The other becomes a pointer to it, which an admin can undo.',
    field: 'Field', keep: 'Keep', result: 'Result', allIdentities: 'All identities of both', confirm: 'Merge',
    confirmBody: 'Merge {loser} into {winner}?', done: 'Merged', pickOther: 'Search the other contact', preview: 'Preview',
  },
  handover: {
    button: 'Handover', title: 'Departure handover', hint: 'Move all contacts of one staff member to another in one audited step.',
    from: 'From', to: 'To', count: '{n} contacts belong to this person', run: 'Move', same: 'Pick a different receiver',
    confirm: 'Move all {n} contacts of {from} to {to}?', done: 'Moved {n} contacts',
  },
  export: {
    currentFilter: 'Export the current filter', noPerm: 'Your role may not export (contacts.export)', fullPhones: 'You may see full phone numbers; the file contains them.',
    maskedPhones: 'Phone numbers in the file are masked like 138****1234.', audited: 'Exports follow your data scope and every export is audited.',
    rows: '{n} contacts match', download: 'Export CSV', done: 'Downloaded {name} ({size} bytes)', big: 'Export {n} rows? This can take a while.',
  },
  import: {
    s1: 'Upload', s2: 'Encoding and columns', s3: 'Dry run', s4: 'Import', drop: 'Drop a CSV file here, or click to choose',
    tip: 'UTF-8 (with or without BOM) and GBK/GB18030 (Excel "CSV")', file: 'File', encoding: 'Encoding', auto: 'Detect',
    detected: 'Detected', mappingHint: 'Columns were matched from the header; change any. Unmapped columns are ignored.', column: 'Column',
    field: 'Import as', skip: 'Skip', dedupe: 'Existing contacts (same phone/email)', dedupeUpdate: 'Update', dedupeSkip: 'Skip',
    strict: 'Strict (import nothing if any row is bad)', dryRun: 'Dry run', rowsTotal: 'Rows', rowsOk: 'Valid', rowsBad: 'With problems',
    rowsDup: 'Existing', strictBlocked: 'Strict mode: fix the problem rows first.', row: 'Row', problem: 'Problem',
    noProblems: 'No problems found', run: 'Import {n} rows', running: 'Importing {d} / {n} rows…', finished: 'Import finished',
    finishedBody: '{ok} new, {up} updated, {sk} skipped, {bad} rejected', errorReport: 'Download error report', seeContacts: 'See contacts',
    again: 'Upload another',
    f: {
      name: 'Name', phone: 'Phone', email: 'Email', company: 'Company', city: 'City', gender: 'Gender', birthday: 'Birthday', source: 'Source',
      owner: 'Owner', store: 'Store', status: 'Status', note: 'Note',
    },
  },
  overview: {
    total: 'Contacts', pool: 'In the pool', today: 'New today', byStatus: 'By status', bySource: 'By source', byStore: 'By store',
    later: 'More dashboards', laterBody: 'Funnels, retention and conversion arrive with analytics', scopeNote: 'Scope: {scope}',
  },
  settings: {
    tab: {
      workspace: 'Workspace', staff: 'Staff', departments: 'Departments', stores: 'Stores', roles: 'Roles', channels: 'Channels',
      attributes: 'Custom attributes', pool: 'Lead pool', tokens: 'API tokens', writekeys: 'Write keys', audit: 'Audit log',
    },
    wsName: 'Workspace name', timezone: 'Timezone', currency: 'Currency', username: 'User name', name: 'Name', password: 'Password',
    passwordPh: '8+ characters; leave empty to keep', role: 'Role', state: 'State', active: 'Active', inactive: 'Inactive',
    deactivate: 'Deactivate', activate: 'Activate', deactivateConfirm: '{name} will no longer sign in; hand their contacts over first. Continue?',
    staffCount: 'Staff', code: 'Code', kind: 'Kind', attrKey: 'Key', attrLabel: 'Label', attrType: 'Type', attrOptions: 'Options',
    attrOptionsPh: 'Comma-separated, for enum', perms: 'Permissions', builtin: 'Built-in',
  },
  poolSettings: {
    enabled: 'Recycle automatically', days: 'Days without follow-up', limit: 'Claim limit per person', runNow: 'Recycle now',
    runConfirm: 'Move contacts without a follow-up for {d} days to the pool?', recycled: 'Recycled {n} contacts',
  },
  secret: {
    once: 'Copy it now: this secret is shown only once:', copy: 'Copy', copied: 'Copied', prefix: 'Prefix', owner: 'Staff',
    lastUsed: 'Last used', revoked: 'Revoked', revoke: 'Revoke',
  },
  audit: { action: 'Action', who: 'Who', when: 'When', target: 'Target', from: 'From', detail: 'Detail', system: 'System' },
  enum: {
    status: { pending: 'To follow up', following: 'Following', won: 'Won', no_intent: 'Not interested', lost: 'Lost' },
    gender: { male: 'Male', female: 'Female', unknown: 'Unknown' },
    scope: { own: 'Own', department: 'Department', store: 'Store', all: 'All' },
    role: { admin: 'Admin', operations: 'Operations', sales: 'Sales', store_manager: 'Store manager', group_owner: 'Group owner' },
    identity: {
      phone: 'Phone', email: 'Email', user_id: 'User id', anonymous_id: 'Anonymous id', wechat_unionid: 'WeChat UnionID',
      wechat_openid: 'WeChat OpenID', wecom_external_userid: 'WeCom external user', device_id: 'Device id',
    },
    kind: { followup: 'Follow-up', change: 'Change', merge: 'Merge', claim: 'Claim', return: 'Return', owner: 'Owner change', import: 'Import', create: 'Created' },
    perm: {
      'contacts.read': 'Read contacts', 'contacts.write': 'Edit contacts', 'contacts.merge': 'Merge', 'contacts.import': 'Import',
      'contacts.export': 'Export', 'contacts.phone': 'See full phones', 'pool.manage': 'Pool and handover', 'staff.manage': 'Staff, departments, stores',
      'roles.manage': 'Roles', 'settings.manage': 'Workspace settings', 'audit.read': 'Audit log',
    },
    attrType: { text: 'Text', number: 'Number', date: 'Date', enum: 'Choice', bool: 'Yes/no' },
    channelKind: { store_code: 'Store code', ads: 'Ads', partner: 'Partner', referral: 'Referral', other: 'Other' },
    action: {
      'auth.login': 'Sign in', 'auth.logout': 'Sign out', 'contacts.export': 'Export', 'contacts.merge': 'Merge', 'contacts.unmerge': 'Undo merge',
      'contacts.handover': 'Handover', 'contacts.import': 'Import', 'contacts.phone_unmask': 'Phone unmasked', 'pool.recycle': 'Pool recycle',
      'roles.create': 'Role created', 'roles.update': 'Role changed', 'roles.delete': 'Role deleted', 'staff.create': 'Staff created', 'staff.update': 'Staff changed',
    },
  },
};
