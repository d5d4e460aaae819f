//! Requests per client counted in the database, for the pages guessing would target: the
//! login and the signer links. Each web node also limits a client in memory (a burst never
//! reaches the database); that limit is per node, so with PostgreSQL — several nodes — the
//! minute's requests of a client are also counted in the database, where every node sees them,
//! and the same per-minute limit holds however many nodes share the work. With SQLite (one
//! node) the in-memory limit is the whole limit and nothing is written.

use std::net::IpAddr;

use crate::accounts::network_of_address;
use crate::Inkan;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestScope {
    /// A login attempt (password, code, single sign-on step): 10 a minute.
    Login,
    /// A signer or completion page or post: 120 a minute.
    Links,
}

impl RequestScope {
    fn name(self) -> &'static str {
        match self {
            RequestScope::Login => "login",
            RequestScope::Links => "links",
        }
    }

    /// Requests a client may make in a minute (the same rates as each node's own limit).
    pub fn per_minute(self) -> u32 {
        match self {
            RequestScope::Login => 10,
            RequestScope::Links => 120,
        }
    }
}

impl Inkan {
    /// Counts a request of `client` and says whether it is within the minute's limit, all
    /// nodes together. A database that cannot count lets the request through (the node's own
    /// limit still holds) and says so in the log.
    pub async fn request_allowed(&self, scope: RequestScope, client: IpAddr) -> bool {
        if self.store.backend() != "postgres" {
            return true;
        }
        let network = network_of_address(client);
        let now = self.now();
        let window = now - now.rem_euclid(60);
        match self
            .store
            .count_request(scope.name(), &network, window, window - 120)
            .await
        {
            Ok(requests) => requests <= scope.per_minute(),
            Err(e) => {
                tracing::warn!(error = %e, scope = scope.name(), "requests could not be counted in the database");
                true
            }
        }
    }
}
