-- IP制限: the networks an organization's staff may work from, one canonical CIDR per line
-- (inkan_domain::StaffNetworks); empty restricts nothing. Signer links never consult it.
ALTER TABLE organizations ADD COLUMN staff_networks TEXT NOT NULL DEFAULT '';
