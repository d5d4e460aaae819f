//! IP制限: an organization's staff work only from the networks its administrator allowed.
//!
//! The check sits where a staff identity is made — password login, a session cookie, an API
//! key — so no page or route can forget it; signer, completion and signer-account links never
//! pass through there. An address that cannot be known (a request without a peer address)
//! is refused when the organization restricts: the rule fails closed. Every refusal is in the
//! organization's audit trail with the address it came from.
//!
//! An administrator cannot save a list that shuts out the address they are saving it from;
//! the operator's way back in, when the office's addresses change anyway, is
//! `inkan org allow-ip` on the server.

use std::net::IpAddr;

use inkan_domain::{OrganizationId, StaffNetworks};
use ipnet::IpNet;

use crate::{Caller, Inkan, Result, ServiceError, Staff};

/// Who the audit trail names for a change made on the server's command line.
const OPERATOR: &str = "operator";

impl Inkan {
    /// Refuses `staff` working from outside their organization's allowed networks (and records
    /// the refusal). `what` says what was refused, for the audit entry: `login`, `session`,
    /// `api_key`.
    pub(crate) async fn admit_network(
        &self,
        staff: &Staff,
        caller: &Caller,
        what: &str,
    ) -> Result<()> {
        let networks = self.staff_networks_of(staff.organization).await?;
        if caller.ip.is_some_and(|ip| networks.permits(ip)) || networks.is_unrestricted() {
            return Ok(());
        }
        self.record(
            staff,
            caller,
            "network_refused",
            serde_json::json!({ "refused": what }),
        )
        .await?;
        Err(ServiceError::NetworkRefused(caller.ip))
    }

    /// The organization's IP restriction (administrators only).
    pub async fn staff_networks(&self, staff: &Staff) -> Result<StaffNetworks> {
        self.require_admin(staff).await?;
        self.staff_networks_of(staff.organization).await
    }

    /// Replaces the organization's IP restriction (administrators only). A list that would shut
    /// out the address this request comes from is refused, so an administrator cannot lock
    /// themselves out; an empty list lifts the restriction.
    pub async fn set_staff_networks(
        &self,
        staff: &Staff,
        caller: &Caller,
        networks: StaffNetworks,
    ) -> Result<StaffNetworks> {
        self.require_admin(staff).await?;
        if !networks.is_unrestricted() && !caller.ip.is_some_and(|ip| networks.permits(ip)) {
            return Err(ServiceError::Invalid(own_address_excluded(caller.ip)));
        }
        let before = self.staff_networks_of(staff.organization).await?;
        self.store
            .set_staff_networks(staff.organization, &networks)
            .await?;
        self.record(
            staff,
            caller,
            "staff_networks_changed",
            serde_json::json!({ "before": before, "after": networks }),
        )
        .await?;
        Ok(networks)
    }

    /// The operator's way back in (`inkan org allow-ip`): adds `network` to the organization's
    /// list, or lifts the restriction with `None`. Audited as the operator.
    pub async fn operator_allow_staff_network(
        &self,
        organization: OrganizationId,
        network: Option<IpNet>,
    ) -> Result<StaffNetworks> {
        let before = self.staff_networks_of(organization).await?;
        let after = match network {
            Some(network) => before.with(network)?,
            None => StaffNetworks::unrestricted(),
        };
        self.store.set_staff_networks(organization, &after).await?;
        self.append_audit(self.audit_entry(
            organization,
            OPERATOR,
            "staff_networks_changed",
            None,
            None,
            &Caller::default(),
            serde_json::json!({ "before": before, "after": after }),
        ))
        .await?;
        Ok(after)
    }

    async fn staff_networks_of(&self, organization: OrganizationId) -> Result<StaffNetworks> {
        Ok(self
            .store
            .organization(organization)
            .await?
            .ok_or(ServiceError::NotFound("the organization"))?
            .staff_networks)
    }
}

/// Why a list that shuts out its own author is refused.
fn own_address_excluded(address: Option<IpAddr>) -> String {
    match address {
        Some(ip) => format!(
            "この一覧には今の接続元 {ip} が含まれていないため、保存するとあなた自身が締め出されます。\
             {ip} を含むネットワークを加えてください \
             (the list leaves out the address you are connecting from, {ip}; add a network that \
             contains it)"
        ),
        None => "接続元のアドレスが分からないため、IP制限を設定できません \
                 (your address is unknown, so an IP restriction cannot be set from here)"
            .to_string(),
    }
}
