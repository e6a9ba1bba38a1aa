//! Which of a Matrix user's Instagram accounts (logins) acts: the running logins by id, the
//! user's preferred one (for commands that need one account), and the one a portal goes
//! through (a DM: the login that is its receiver; a group: the preferred login if it is in
//! the thread, else another of the user's logins that is, else the preferred).

use std::sync::Arc;

use super::Bridge;
use super::user::IgUser;
use crate::store::portals::PortalRow;

/// The login a group goes through, given the user's preferred login, their running logins
/// (in order) and the thread's members' pks.
pub fn choose_for_group(preferred: Option<i64>, logins: &[i64], members: &[i64]) -> Option<i64> {
    let preferred = preferred
        .filter(|p| logins.contains(p))
        .or_else(|| logins.first().copied());
    if let Some(p) = preferred.filter(|p| members.contains(p)) {
        return Some(p);
    }
    logins
        .iter()
        .copied()
        .find(|l| members.contains(l))
        .or(preferred)
}

/// The preferred login among the running ones: the stored choice if it runs, else the first.
pub fn choose_preferred(preferred: Option<i64>, logins: &[i64]) -> Option<i64> {
    preferred
        .filter(|p| logins.contains(p))
        .or_else(|| logins.first().copied())
}

/// The login id (pk) of a DM portal's receiver, if it is one.
pub fn receiver_login(portal: &PortalRow) -> Option<i64> {
    if portal.is_group {
        return None;
    }
    portal.receiver.parse().ok()
}

impl Bridge {
    /// The running account of a login.
    pub fn account(&self, login: i64) -> Option<Arc<IgUser>> {
        self.accounts.get(&login).map(|u| u.clone())
    }

    /// The running account named by an inbox row's or a portal's receiver.
    pub fn account_of_receiver(&self, receiver: &str) -> Option<Arc<IgUser>> {
        receiver.parse().ok().and_then(|pk| self.account(pk))
    }

    /// The user's running accounts, in the order they were logged in (then by pk).
    pub fn logins_of(&self, mxid: &str) -> Vec<Arc<IgUser>> {
        let mut logins: Vec<Arc<IgUser>> = self
            .accounts
            .iter()
            .filter(|u| u.mxid == mxid)
            .map(|u| u.clone())
            .collect();
        logins.sort_by_key(|u| (u.started_at_ms, u.pk));
        logins
    }

    /// Whether the user has a running account.
    pub fn has_login(&self, mxid: &str) -> bool {
        self.accounts.iter().any(|u| u.mxid == mxid)
    }

    /// The stored preferred login of the user (whether it runs or not).
    async fn stored_preferred(&self, mxid: &str) -> Option<i64> {
        match self.store.get_user(mxid).await {
            Ok(row) => row.and_then(|r| r.preferred_login),
            Err(e) => {
                tracing::warn!(user = mxid, "cannot read the preferred login: {e}");
                None
            }
        }
    }

    /// The account commands that need one use: the preferred login if it runs, else the
    /// first of the user's running logins.
    pub async fn preferred_login(&self, mxid: &str) -> Option<Arc<IgUser>> {
        let logins = self.logins_of(mxid);
        if logins.len() <= 1 {
            return logins.into_iter().next();
        }
        let pks: Vec<i64> = logins.iter().map(|u| u.pk).collect();
        let chosen = choose_preferred(self.stored_preferred(mxid).await, &pks)?;
        logins.into_iter().find(|u| u.pk == chosen)
    }

    /// The account `mxid` speaks through in `portal`: a DM's own receiver login (only if it is
    /// the user's), a group's per [`choose_for_group`].
    pub async fn login_for_portal(&self, mxid: &str, portal: &PortalRow) -> Option<Arc<IgUser>> {
        if !portal.is_group {
            return self
                .account_of_receiver(&portal.receiver)
                .filter(|u| u.mxid == mxid);
        }
        let logins = self.logins_of(mxid);
        if logins.len() <= 1 {
            return logins.into_iter().next();
        }
        let pks: Vec<i64> = logins.iter().map(|u| u.pk).collect();
        let members: Vec<i64> = match self.store.thread_members(&portal.thread_id).await {
            Ok(m) => m.iter().map(|m| m.pk).collect(),
            Err(e) => {
                tracing::warn!(thread = portal.thread_id, "cannot read the members: {e}");
                Vec::new()
            }
        };
        let preferred = self.stored_preferred(mxid).await;
        let chosen = choose_for_group(preferred, &pks, &members)?;
        logins.into_iter().find(|u| u.pk == chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_goes_through_the_preferred_login_when_it_is_a_member() {
        assert_eq!(choose_for_group(Some(2), &[1, 2], &[1, 2, 9]), Some(2));
        assert_eq!(choose_for_group(Some(1), &[1, 2], &[1, 2, 9]), Some(1));
    }

    #[test]
    fn else_through_another_login_that_is_a_member() {
        assert_eq!(choose_for_group(Some(2), &[1, 2, 3], &[3, 9]), Some(3));
        // Several members: the first in login order.
        assert_eq!(choose_for_group(Some(3), &[1, 2, 3], &[2, 1, 9]), Some(1));
    }

    #[test]
    fn else_through_the_preferred() {
        assert_eq!(choose_for_group(Some(2), &[1, 2], &[9]), Some(2));
        assert_eq!(choose_for_group(None, &[1, 2], &[]), Some(1));
        // A preferred login that no longer runs counts as none.
        assert_eq!(choose_for_group(Some(7), &[1, 2], &[9]), Some(1));
        assert_eq!(choose_for_group(Some(7), &[1, 2], &[2]), Some(2));
        assert_eq!(choose_for_group(Some(1), &[], &[1]), None);
    }

    #[test]
    fn the_preferred_login_is_the_stored_one_if_it_runs() {
        assert_eq!(choose_preferred(Some(2), &[1, 2]), Some(2));
        assert_eq!(choose_preferred(Some(7), &[1, 2]), Some(1));
        assert_eq!(choose_preferred(None, &[3]), Some(3));
        assert_eq!(choose_preferred(Some(3), &[]), None);
    }

    #[test]
    fn a_dm_portal_names_its_login() {
        let dm = PortalRow {
            thread_id: "t".into(),
            receiver: "17841400000000001".into(),
            ..Default::default()
        };
        assert_eq!(receiver_login(&dm), Some(17841400000000001));
        let group = PortalRow {
            receiver: String::new(),
            is_group: true,
            ..dm.clone()
        };
        assert_eq!(receiver_login(&group), None);
        let old = PortalRow {
            receiver: "@a:x".into(),
            ..dm
        };
        assert_eq!(receiver_login(&old), None);
    }
}
