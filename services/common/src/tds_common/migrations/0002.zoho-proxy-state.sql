-- zoho-proxy state shared by all its replicas: the OAuth token lease and the API budgets.
-- depends: 0001.initial-schema
-- Forward-only and additive: no earlier table changes, so a rollback of the proxy is harmless.

-- One row per Zoho credential (client id + refresh token, hashed: the key itself is no secret).
-- The row lock (SELECT ... FOR UPDATE) makes a refresh single-flight across replicas; the
-- access token is Fernet-encrypted with ZOHO_PROXY_TOKEN_ENCRYPTION_KEY.
CREATE TABLE zoho_proxy_tokens (
    credential_key     text PRIMARY KEY,
    access_token_enc   text,                                -- Fernet token, never plain text
    expires_at         timestamptz,
    minted_at          timestamptz,
    mint_times         timestamptz[] NOT NULL DEFAULT '{}', -- mints in the last mint window
    state              text NOT NULL DEFAULT 'ok'
                       CHECK (state IN ('ok', 'locked_out', 'revoked', 'failing')),
    blocked_until      timestamptz,                         -- no token requests before this
    last_error         text,                                -- Zoho's error code, never a token
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- One row per organization and product (books | inventory). The row lock serializes budget
-- decisions across replicas; recent_calls is the sliding log of call starts in the minute window.
CREATE TABLE zoho_proxy_budgets (
    org_id         text NOT NULL,
    product        text NOT NULL CHECK (product IN ('books', 'inventory')),
    recent_calls   timestamptz[] NOT NULL DEFAULT '{}',
    day_limit      integer NOT NULL,
    day_remaining  integer NOT NULL,
    day_reset_at   timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, product)
);

-- Calls in flight, as leases that expire: a killed replica cannot leak slots for long.
CREATE TABLE zoho_proxy_inflight (
    id          uuid PRIMARY KEY,
    org_id      text NOT NULL,
    product     text NOT NULL,
    lane        text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX zoho_proxy_inflight_key_idx ON zoho_proxy_inflight (org_id, product, expires_at);
