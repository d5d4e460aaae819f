-- Sessions that can be ended from the server: a session names the generation it was opened in,
-- and logging out, changing the password or disabling the user moves to the next one.
ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
-- What an API key may do: read, send (and read), or admin (everything). Keys made before scopes
-- acted for the whole organization: admin.
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin' CHECK (scope IN ('read', 'send', 'admin'));
