-- Live settings (issue 25): rate-limit quotas, filter mode and rule switches,
-- cache TTL. One row, versioned; every instance applies it within a second
-- (NOTIFY edge_settings, with a periodic re-read as a fallback). The flags
-- give the first version only.
CREATE TABLE settings (
    id         SMALLINT PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL CHECK (version >= 1),
    document   JSONB NOT NULL CHECK (jsonb_typeof(document) = 'object'),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by BIGINT REFERENCES users (id) ON DELETE SET NULL
);

-- One row per change, written in the same transaction as the change.
CREATE TABLE settings_audit (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    version  BIGINT NOT NULL,
    before   JSONB,
    after    JSONB NOT NULL,
    at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
