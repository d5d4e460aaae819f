-- The staff member an API key acts for: envelopes sent with the key name them as the sender
-- (送信者, the 締結証明書's 文書作成者, the notices of a decline). Existing keys are given to their
-- organization's first administrator, who made them.
ALTER TABLE api_keys ADD COLUMN owner TEXT REFERENCES users (id);
UPDATE api_keys SET owner = (
    SELECT u.id FROM users u
    WHERE u.organization = api_keys.organization AND u.role = 'admin'
    ORDER BY u.created_at, u.id LIMIT 1
);
