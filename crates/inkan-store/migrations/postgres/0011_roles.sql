-- The roles of a contract office (admin, system_admin, document_manager, document_viewer,
-- sender). The one earlier non-admin role, `member`, prepared, sent and read everything: it
-- is what a document manager does.
ALTER TABLE users DROP CONSTRAINT users_role_check;
UPDATE users SET role = 'document_manager' WHERE role = 'member';
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN
    ('admin', 'system_admin', 'document_manager', 'document_viewer', 'sender'));
