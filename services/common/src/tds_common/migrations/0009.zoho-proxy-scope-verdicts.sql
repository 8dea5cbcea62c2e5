-- zoho-proxy: which calls the refresh token's OAuth scopes cover, learnt from Zoho's answers.
-- depends: 0002.zoho-proxy-state
-- Additive only (a new table), so the previous release runs against it unchanged.
--
-- Zoho's code 57 means a dead access token or a call outside the token's scopes. A call kind that
-- Zoho once answered (allowed) makes a later 57 on it a dead token; a 57 while the token is shown
-- to work elsewhere is a missing scope (allowed = false), answered locally until checked_at +
-- ZOHO_PROXY_SCOPE_DENIAL_TTL_SECONDS instead of minting token after token. Shared by replicas
-- and restarts, so a crash loop does not relearn them by minting.
CREATE TABLE zoho_proxy_scope_verdicts (
    credential_key  text NOT NULL,          -- zoho_proxy_tokens.credential_key (a hash)
    org_id          text NOT NULL,
    product         text NOT NULL CHECK (product IN ('books', 'inventory')),
    resource        text NOT NULL,          -- first path segment, e.g. invoices
    operation       text NOT NULL CHECK (operation IN ('READ', 'CREATE', 'UPDATE', 'DELETE')),
    allowed         boolean NOT NULL,
    checked_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (credential_key, org_id, product, resource, operation)
);
