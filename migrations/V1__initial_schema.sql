-- The reference API's schema: accounts, resources, their audit trail, refresh tokens.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT NOT NULL
                  CHECK (char_length(username) BETWEEN 3 AND 32 AND username ~ '^[A-Za-z0-9_.-]+$'),
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Usernames are unique case-insensitively; logins look them up by lower(username).
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));

CREATE TABLE resources (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description TEXT CHECK (description IS NULL OR char_length(description) <= 10000),
    tags        TEXT[] NOT NULL DEFAULT '{}',
    data        JSONB CHECK (data IS NULL OR jsonb_typeof(data) = 'object'),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Keyset pagination (id descending) walks the primary key backwards; listing one
-- owner's resources uses this index.
CREATE INDEX resources_owner_id_id_idx ON resources (owner_id, id DESC);

-- One row per create/update/delete, written in the same transaction as the change.
-- No foreign key to resources: the trail outlives a deleted resource.
CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    action      TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    resource_id BIGINT NOT NULL,
    before      JSONB,
    after       JSONB,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_resource_id_idx ON audit_log (resource_id, id);

-- Refresh tokens rotate within a family; reusing a rotated token revokes the family.
CREATE TABLE refresh_token_families (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);
CREATE INDEX refresh_token_families_user_id_idx ON refresh_token_families (user_id);

CREATE TABLE refresh_tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id  BIGINT NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    -- SHA-256 of the opaque token: the token itself is never stored.
    token_hash BYTEA NOT NULL UNIQUE,
    issued_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
