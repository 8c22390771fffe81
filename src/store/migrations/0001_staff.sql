-- 0001_staff: staff, departments, stores, roles, sessions, API tokens, write
-- keys, workspace settings and the audit log. Owned by src/staff/.
-- Times are UTC milliseconds. Secrets (session tokens, API tokens, write keys)
-- are stored only as BLAKE2b-256 hashes; passwords as argon2id strings.

CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE stores (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    code TEXT NOT NULL UNIQUE COLLATE NOCASE,
    city TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- perms: bitmask of SY_PERM_* (staff.h); the API shows permission names.
CREATE TABLE roles (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    perms INTEGER NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('own', 'department', 'store', 'all')),
    builtin INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role_id INTEGER NOT NULL REFERENCES roles(id),
    department_id INTEGER REFERENCES departments(id),
    store_id INTEGER REFERENCES stores(id),
    active INTEGER NOT NULL DEFAULT 1,
    deactivated_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX staff_department ON staff(department_id);
CREATE INDEX staff_store ON staff(store_id);
CREATE INDEX staff_role ON staff(role_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    csrf_token TEXT NOT NULL,
    ip TEXT,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_staff ON sessions(staff_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_staff ON api_tokens(staff_id);

CREATE TABLE write_keys (
    id INTEGER PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);

CREATE TABLE settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    workspace_name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    currency TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO settings (id, workspace_name, timezone, currency, updated_at)
VALUES (1, '私域工作台', 'Asia/Shanghai', 'CNY', 0);

-- The audit log keeps the user name as well as the id, so entries stay
-- readable if the account is renamed; detail is a JSON object.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    staff_id INTEGER,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT,
    ip TEXT
);
CREATE INDEX audit_at ON audit_log(at);
CREATE INDEX audit_action ON audit_log(action, id);
CREATE INDEX audit_staff ON audit_log(staff_id, id);

-- Built-in roles. Bits (staff.h): contacts.read 1, contacts.write 2,
-- contacts.merge 4, contacts.import 8, contacts.export 16, contacts.phone 32,
-- pool.manage 64, staff.manage 128, roles.manage 256, settings.manage 512,
-- audit.read 1024.
INSERT INTO roles (key, name, perms, scope, builtin, created_at, updated_at) VALUES
    ('admin', '管理员', 2047, 'all', 1, 0, 0),
    ('operations', '运营', 127, 'all', 1, 0, 0),
    ('sales', '销售', 3, 'own', 1, 0, 0),
    ('store_manager', '店长', 19, 'store', 1, 0, 0),
    ('group_owner', '群主', 3, 'own', 1, 0, 0);
