//! `users`: one row per Matrix user who ever talked to the bridge (the Matrix side: the
//! management room, the proxy choice, which login commands use). Their Instagram accounts are
//! [`super::logins`].

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, now_ms};
use crate::secret::Secret;

/// A bridge user: a Matrix user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub mxid: String,
    pub management_room: Option<String>,
    /// The login (its Instagram pk) that commands needing one account use.
    pub preferred_login: Option<i64>,
}

/// A user's choice of proxy for their Instagram traffic (the `proxy` column).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxySetting {
    /// The config's default (`NULL`).
    #[default]
    Default,
    /// No proxy, whatever the default (`''`).
    Direct,
    /// This proxy URL (it may hold a password).
    Url(Secret),
}

/// `SELECT <every column> FROM users` followed by the given clause.
macro_rules! select_users {
    ($clause:literal) => {
        concat!(
            "SELECT mxid, management_room, preferred_login FROM users ",
            $clause
        )
    };
}

fn from_row(row: &AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        mxid: row.try_get("mxid")?,
        management_room: row.try_get("management_room")?,
        preferred_login: row.try_get("preferred_login")?,
    })
}

impl Store {
    pub async fn get_user(&self, mxid: &str) -> Result<Option<UserRow>> {
        const Q: &str = select_users!("WHERE mxid = $1");
        let row = sqlx::query(Q).bind(mxid).fetch_optional(&self.pool).await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn get_user_by_management_room(&self, room_id: &str) -> Result<Option<UserRow>> {
        const Q: &str = select_users!("WHERE management_room = $1");
        let row = sqlx::query(Q)
            .bind(room_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Returns the user, creating an empty row first if there is none.
    pub async fn ensure_user(&self, mxid: &str) -> Result<UserRow> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO users (mxid, created_at_ms, updated_at_ms) VALUES ($1, $2, $2) \
             ON CONFLICT (mxid) DO NOTHING",
        )
        .bind(mxid)
        .bind(now)
        .execute(&self.writer)
        .await?;
        self.get_user(mxid)
            .await?
            .ok_or(super::StoreError::Db(sqlx::Error::RowNotFound))
    }

    /// Makes `room_id` the user's management room (a room can belong to one user only).
    pub async fn set_management_room(&self, mxid: &str, room_id: &str) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "UPDATE users SET management_room = NULL, updated_at_ms = $2 \
             WHERE management_room = $1",
        )
        .bind(room_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE users SET management_room = $2, updated_at_ms = $3 WHERE mxid = $1")
            .bind(mxid)
            .bind(room_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes `login` (a pk, `None` for none) the login the user's commands use.
    pub async fn set_preferred_login(&self, mxid: &str, login: Option<i64>) -> Result<()> {
        sqlx::query("UPDATE users SET preferred_login = $2, updated_at_ms = $3 WHERE mxid = $1")
            .bind(mxid)
            .bind(login)
            .bind(now_ms())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The user's proxy choice ([`ProxySetting::Default`] for an unknown user).
    pub async fn get_proxy(&self, mxid: &str) -> Result<ProxySetting> {
        let row = sqlx::query("SELECT proxy FROM users WHERE mxid = $1")
            .bind(mxid)
            .fetch_optional(&self.pool)
            .await?;
        let value: Option<String> = match row {
            Some(row) => row.try_get("proxy")?,
            None => None,
        };
        Ok(match value {
            None => ProxySetting::Default,
            Some(v) if v.is_empty() => ProxySetting::Direct,
            Some(v) => ProxySetting::Url(Secret::new(v)),
        })
    }

    /// Records the user's proxy choice (the user row must exist: [`Store::ensure_user`]).
    pub async fn set_proxy(&self, mxid: &str, setting: &ProxySetting) -> Result<()> {
        let value = match setting {
            ProxySetting::Default => None,
            ProxySetting::Direct => Some(""),
            ProxySetting::Url(url) => Some(url.expose()),
        };
        sqlx::query("UPDATE users SET proxy = $2, updated_at_ms = $3 WHERE mxid = $1")
            .bind(mxid)
            .bind(value)
            .bind(now_ms())
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
