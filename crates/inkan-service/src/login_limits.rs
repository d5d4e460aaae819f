//! Failed staff logins, counted in the database: the limit holds however many nodes serve the
//! login page (each node's in-memory rate limit only slows one client down on that node). A
//! wrong password counts against the account and against the client's network; past the limit,
//! logins to that account (or from that network) are refused — even with the right password —
//! until the lock ends, and the refusal says until when.

use inkan_store::AttemptLimit;

use crate::accounts::network_of;
use crate::japan::format_slash_jst;
use crate::{Caller, Inkan, Result, ServiceError};

const ACCOUNT_SCOPE: &str = "login-account";
const NETWORK_SCOPE: &str = "login-network";

/// An account: 10 wrong passwords in 15 minutes lock it for 15 minutes.
const PER_ACCOUNT: AttemptLimit = AttemptLimit {
    failures: 10,
    window: 900,
    lock: 900,
};

/// A network (an IPv4 address, an IPv6 /64): 50 wrong passwords in 10 minutes, whatever the
/// accounts, lock it for 10 minutes (a city office behind one address stays usable).
const PER_NETWORK: AttemptLimit = AttemptLimit {
    failures: 50,
    window: 600,
    lock: 600,
};

fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Inkan {
    /// Refuses a login to a locked account or from a locked network, saying until when.
    pub(crate) async fn refuse_locked_login(&self, email: &str, caller: &Caller) -> Result<()> {
        let now = self.now();
        let mut until = self
            .store
            .locked_until(ACCOUNT_SCOPE, &account_key(email), now)
            .await?;
        if let Some(network) = network_of(caller) {
            until = until.max(
                self.store
                    .locked_until(NETWORK_SCOPE, &network, now)
                    .await?,
            );
        }
        match until {
            Some(until) => Err(ServiceError::NotAllowed(format!(
                "ログインの失敗が続いたため、{} までログインできません (too many failed logins: try again after {} JST)",
                format_slash_jst(until),
                format_slash_jst(until)
            ))),
            None => Ok(()),
        }
    }

    /// Counts a failed login against the account and the network.
    pub(crate) async fn count_failed_login(&self, email: &str, caller: &Caller) -> Result<()> {
        let now = self.now();
        if let Some(network) = network_of(caller) {
            let count = self
                .store
                .count_failure(NETWORK_SCOPE, &network, PER_NETWORK, now)
                .await?;
            if count.newly_locked {
                tracing::warn!(%network, failures = count.failures, "staff logins locked for a network");
            }
        }
        let count = self
            .store
            .count_failure(ACCOUNT_SCOPE, &account_key(email), PER_ACCOUNT, now)
            .await?;
        if count.newly_locked {
            tracing::warn!(
                failures = count.failures,
                "staff logins locked for an account"
            );
        }
        Ok(())
    }
}
