//! Every login path (PROTOCOL B): password key, password login, two-factor, challenge,
//! session import, logout and the `current_user` probe. Each step returns a typed state so a
//! chat bot can ask the user for the next input across messages.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::{Call, InstagramClient};
use super::import::parse_session_import;
use super::password::enc_password;
use crate::instagram::Error;
use crate::instagram::error::ChallengeInfo;
use crate::instagram::types::User;
use crate::secret::Secret;

/// What a login step led to.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// Logged in; the session is ready (persist [`InstagramClient::session_json`]).
    LoggedIn(User),
    /// Ask the user for a two-factor code, then call [`InstagramClient::two_factor_login`].
    TwoFactorRequired(TwoFactorState),
    /// Ask the user to pick SMS/email or to enter a code (see [`ChallengeState::step_name`]).
    ChallengeRequired(ChallengeState),
}

/// What the caller needs to continue a two-factor login (PROTOCOL B.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoFactorState {
    pub username: String,
    pub two_factor_identifier: String,
    #[serde(default)]
    pub sms_two_factor_on: bool,
    #[serde(default)]
    pub totp_two_factor_on: bool,
    #[serde(default)]
    pub obfuscated_phone_number: Option<String>,
}

impl TwoFactorState {
    fn from_info(info: &serde_json::Value, username: &str) -> Result<Self, Error> {
        let id = info
            .get("two_factor_identifier")
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::BadResponse {
                message: "two_factor_info without two_factor_identifier".into(),
            })?;
        let b = |k: &str| info.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        Ok(TwoFactorState {
            username: info
                .get("username")
                .and_then(|v| v.as_str())
                .unwrap_or(username)
                .to_owned(),
            two_factor_identifier: id.to_owned(),
            sms_two_factor_on: b("sms_two_factor_on"),
            totp_two_factor_on: b("totp_two_factor_on"),
            obfuscated_phone_number: info
                .get("obfuscated_phone_number")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        })
    }
}

/// How the two-factor code was obtained (`verification_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoFactorMethod {
    Sms,
    BackupCode,
    Totp,
}

impl TwoFactorMethod {
    fn code(self) -> &'static str {
        match self {
            TwoFactorMethod::Sms => "1",
            TwoFactorMethod::BackupCode => "2",
            TwoFactorMethod::Totp => "3",
        }
    }
}

/// Where to receive a challenge code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeMethod {
    Sms,
    Email,
}

/// The current step of a challenge (PROTOCOL B.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChallengeState {
    pub info: ChallengeInfo,
    /// `select_verify_method`, `verify_code`, `verify_email`, `delta_login_review`, …
    pub step_name: String,
    #[serde(default)]
    pub step_data: serde_json::Value,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub nonce_code: Option<String>,
}

impl ChallengeState {
    /// Whether the user must pick SMS or email ([`InstagramClient::challenge_select`]).
    pub fn needs_method(&self) -> bool {
        self.step_name == "select_verify_method"
    }
    /// Whether the user must confirm "it was me" ([`InstagramClient::challenge_confirm`]).
    pub fn needs_confirmation(&self) -> bool {
        matches!(
            self.step_name.as_str(),
            "delta_login_review" | "delta_acknowledge_approved" | "scraping_warning"
        )
    }
    /// Where the code was sent, when Instagram says.
    pub fn contact_point(&self) -> Option<&str> {
        self.step_data.get("contact_point").and_then(|v| v.as_str())
    }
    fn api_path(&self) -> &str {
        self.info.api_path.as_deref().unwrap_or("/challenge/")
    }
}

/// Steps this client can walk over the API.
const SUPPORTED_STEPS: &[&str] = &[
    "select_verify_method",
    "verify_code",
    "verify_email",
    "verify_sms",
    "submit_security_code",
    "delta_login_review",
    "delta_acknowledge_approved",
    "scraping_warning",
];

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn parse_user(v: &serde_json::Value, key: &str) -> Result<User, Error> {
    let u = v.get(key).cloned().ok_or_else(|| Error::BadResponse {
        message: format!("response without `{key}`"),
    })?;
    serde_json::from_value(u).map_err(|e| Error::BadResponse {
        message: format!("bad `{key}`: {e}"),
    })
}

impl InstagramClient {
    /// Fetches the password encryption key (PROTOCOL B.1, M's `launcher/mobileconfig`).
    pub async fn fetch_password_key(&self) -> Result<(), Error> {
        let d = self.session().device;
        let mut call =
            Call::new(Method::POST, self.api_url("launcher/mobileconfig/")).signed(vec![
                ("bool_opt_policy", "0".into()),
                ("mobileconfigsessionless", String::new()),
                ("api_version", "3".into()),
                ("unit_type", "1".into()),
                (
                    "query_hash",
                    "ae8b1d5ba6ee3db5a3b1b5f2a6fa4fba93d8c3ef0fb3e33a7e2d8fd2cda35f0b".into(),
                ),
                ("device_id", d.android_id.clone()),
                ("fetch_type", "ASYNC_FULL".into()),
                ("family_device_id", d.fdid.to_uppercase()),
            ]);
        call.check_status = false;
        self.call(call).await?;
        let has_key = self.session_lock().password_pub_key.is_some();
        if !has_key {
            // instagrapi's way: the key also comes with `qe/sync`.
            let mut call = Call::new(Method::GET, self.api_url("qe/sync/"));
            call.check_status = false;
            self.call(call).await?;
        }
        Ok(())
    }

    /// Username + password login (PROTOCOL B.2, B.3).
    pub async fn login(
        &self,
        username: &str,
        password: impl Into<Secret>,
    ) -> Result<LoginOutcome, Error> {
        let password: Secret = password.into();
        let has_key = {
            let s = self.session_lock();
            s.password_key_id.is_some() && s.password_pub_key.is_some()
        };
        if !has_key {
            self.fetch_password_key().await?;
        }
        let (key_id, key, d) = {
            let s = self.session_lock();
            (
                s.password_key_id,
                s.password_pub_key.clone(),
                s.device.clone(),
            )
        };
        let (Some(key_id), Some(key)) = (key_id, key) else {
            return Err(Error::BadResponse {
                message: "Instagram did not send a password encryption key".into(),
            });
        };
        let enc = enc_password(&key, key_id, password.expose(), unix_secs())?;
        let call = Call::new(Method::POST, self.api_url("accounts/login/")).signed(vec![
            ("username", username.to_owned()),
            ("enc_password", enc),
            ("guid", d.uuid.clone()),
            ("phone_id", d.phone_id.clone()),
            ("device_id", d.android_id.clone()),
            ("adid", d.adid.clone()),
            ("google_tokens", "[]".into()),
            ("login_attempt_count", "0".into()),
            (
                "country_codes",
                r#"[{"country_code":"1","source":"default"}]"#.into(),
            ),
            ("jazoest", d.jazoest()),
        ]);
        let result = self.call(call).await;
        self.login_result(result, username).await
    }

    async fn login_result(
        &self,
        result: Result<serde_json::Value, Error>,
        username: &str,
    ) -> Result<LoginOutcome, Error> {
        match result {
            Ok(v) => {
                let user = parse_user(&v, "logged_in_user")?;
                self.remember_user(&user);
                tracing::info!(pk = %user.pk, "instagram login succeeded");
                Ok(LoginOutcome::LoggedIn(user))
            }
            Err(Error::TwoFactorRequired(info)) => Ok(LoginOutcome::TwoFactorRequired(
                TwoFactorState::from_info(&info, username)?,
            )),
            Err(Error::ChallengeRequired(info)) => Ok(LoginOutcome::ChallengeRequired(
                self.challenge_fetch(*info).await?,
            )),
            Err(e) => Err(e),
        }
    }

    fn remember_user(&self, user: &User) {
        self.update_session(|s| {
            s.user_pk = Some(user.pk);
            s.username = Some(user.username.clone());
        });
    }

    /// Submits a two-factor code (TOTP, SMS or backup code).
    pub async fn two_factor_login(
        &self,
        state: &TwoFactorState,
        code: impl Into<Secret>,
        method: TwoFactorMethod,
        trust_this_device: bool,
    ) -> Result<LoginOutcome, Error> {
        let s = self.session();
        let code: Secret = code.into();
        let code: String = code
            .expose()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let call =
            Call::new(Method::POST, self.api_url("accounts/two_factor_login/")).signed(vec![
                ("verification_code", code),
                ("two_factor_identifier", state.two_factor_identifier.clone()),
                ("username", state.username.clone()),
                (
                    "trust_this_device",
                    if trust_this_device { "1" } else { "0" }.into(),
                ),
                ("guid", s.device.uuid.clone()),
                ("device_id", s.device.android_id.clone()),
                ("phone_id", s.device.phone_id.clone()),
                ("verification_method", method.code().into()),
                ("_csrftoken", s.csrftoken()),
            ]);
        let result = self.call(call).await;
        self.login_result(result, &state.username).await
    }

    /// Asks Instagram to send a new SMS code; returns the new state (new identifier).
    pub async fn resend_two_factor_sms(
        &self,
        state: &TwoFactorState,
    ) -> Result<TwoFactorState, Error> {
        let d = self.session().device;
        let call = Call::new(
            Method::POST,
            self.api_url("accounts/send_two_factor_login_sms/"),
        )
        .signed(vec![
            ("two_factor_identifier", state.two_factor_identifier.clone()),
            ("username", state.username.clone()),
            ("guid", d.uuid.clone()),
            ("device_id", d.android_id.clone()),
        ]);
        let v = self.call(call).await?;
        let info = v.get("two_factor_info").cloned().unwrap_or_default();
        TwoFactorState::from_info(&info, &state.username)
    }

    fn challenge_url(&self, api_path: &str) -> String {
        self.api_url(api_path)
    }

    fn challenge_state(
        &self,
        info: ChallengeInfo,
        v: &serde_json::Value,
    ) -> Result<ChallengeState, Error> {
        let step_name = v
            .get("step_name")
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_owned();
        if !SUPPORTED_STEPS.contains(&step_name.as_str()) {
            return Err(Error::ChallengeUnsupported {
                step_name,
                url: info.url.clone(),
            });
        }
        let s = |k: &str| {
            v.get(k).and_then(|x| match x {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        Ok(ChallengeState {
            step_name,
            step_data: v.get("step_data").cloned().unwrap_or_default(),
            user_id: s("user_id"),
            nonce_code: s("nonce_code"),
            info,
        })
    }

    /// Fetches the current step of a challenge (`GET /api/v1{api_path}`).
    pub async fn challenge_fetch(&self, info: ChallengeInfo) -> Result<ChallengeState, Error> {
        let Some(api_path) = info.api_path.clone() else {
            return Err(Error::ChallengeUnsupported {
                step_name: "web".into(),
                url: info.url.clone(),
            });
        };
        if api_path.starts_with("/auth_platform/") {
            return Err(Error::ChallengeUnsupported {
                step_name: "auth_platform".into(),
                url: info.url.clone(),
            });
        }
        let d = self.session().device;
        let mut call = Call::new(Method::GET, self.challenge_url(&api_path))
            .query("guid", d.uuid.clone())
            .query("device_id", d.android_id.clone());
        if let Some(ctx) = &info.challenge_context {
            call = call.query("challenge_context", ctx.clone());
        }
        let v = self.call(call).await?;
        self.challenge_state(info, &v)
    }

    async fn challenge_post(
        &self,
        state: &ChallengeState,
        path: &str,
        mut fields: Vec<(&str, String)>,
    ) -> Result<LoginOutcome, Error> {
        let s = self.session();
        fields.extend([
            ("_csrftoken", s.csrftoken()),
            ("guid", s.device.uuid.clone()),
            ("device_id", s.device.android_id.clone()),
        ]);
        let call = Call::new(Method::POST, self.challenge_url(path)).signed(fields);
        let v = self.call(call).await?;
        if v.get("logged_in_user").is_some() {
            let user = parse_user(&v, "logged_in_user")?;
            self.remember_user(&user);
            return Ok(LoginOutcome::LoggedIn(user));
        }
        if v.get("action").and_then(|a| a.as_str()) == Some("close") {
            return Ok(LoginOutcome::LoggedIn(self.current_user().await?));
        }
        Ok(LoginOutcome::ChallengeRequired(
            self.challenge_state(state.info.clone(), &v)?,
        ))
    }

    /// Chooses where to receive the code (`select_verify_method`).
    pub async fn challenge_select(
        &self,
        state: &ChallengeState,
        method: ChallengeMethod,
    ) -> Result<LoginOutcome, Error> {
        let choice = match method {
            ChallengeMethod::Sms => "0",
            ChallengeMethod::Email => "1",
        };
        self.challenge_post(state, state.api_path(), vec![("choice", choice.into())])
            .await
    }

    /// Answers "it was me" to a login review step.
    pub async fn challenge_confirm(&self, state: &ChallengeState) -> Result<LoginOutcome, Error> {
        self.challenge_post(state, state.api_path(), vec![("choice", "0".into())])
            .await
    }

    /// Submits the security code of a challenge.
    pub async fn challenge_submit_code(
        &self,
        state: &ChallengeState,
        code: impl Into<Secret>,
    ) -> Result<LoginOutcome, Error> {
        let code: Secret = code.into();
        let code: String = code
            .expose()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        match self
            .challenge_post(state, state.api_path(), vec![("security_code", code)])
            .await
        {
            Err(Error::Api {
                status: 400,
                message,
                ..
            }) => Err(Error::BadCode { message }),
            other => other,
        }
    }

    /// Restarts the challenge (`/challenge/reset/`).
    pub async fn challenge_reset(&self, state: &ChallengeState) -> Result<LoginOutcome, Error> {
        let path = state
            .api_path()
            .replacen("/challenge/", "/challenge/reset/", 1);
        self.challenge_post(state, &path, vec![]).await
    }

    /// Asks for the code again (`/challenge/replay/`).
    pub async fn challenge_replay(&self, state: &ChallengeState) -> Result<LoginOutcome, Error> {
        let path = state
            .api_path()
            .replacen("/challenge/", "/challenge/replay/", 1);
        self.challenge_post(state, &path, vec![]).await
    }

    /// The logged-in user; a cheap "is this session alive?" probe.
    pub async fn current_user(&self) -> Result<User, Error> {
        let call =
            Call::new(Method::GET, self.api_url("accounts/current_user/")).query("edit", "true");
        let v = self.call(call).await?;
        let user = parse_user(&v, "user")?;
        self.remember_user(&user);
        Ok(user)
    }

    /// Imports a session (cookies as JSON object or list, `Cookie:` header, cURL command, or a
    /// `Bearer IGT:2:` value) and validates it with `current_user`. On failure the previous
    /// credentials are restored.
    pub async fn import_session(&self, input: impl Into<Secret>) -> Result<User, Error> {
        let creds = parse_session_import(input.into().expose())?;
        let before = self.session();
        self.update_session(|s| {
            s.clear_credentials();
            s.cookies = creds
                .cookies
                .iter()
                .map(|(name, value)| (name.clone(), value.expose().to_owned()))
                .collect();
            s.authorization = creds.authorization.as_ref().map(|a| a.expose().to_owned());
            if let Some(mid) = creds.cookies.get("mid") {
                s.mid = Some(mid.expose().to_owned());
            }
        });
        match self.current_user().await {
            Ok(u) => Ok(u),
            Err(e) => {
                self.update_session(|s| *s = before);
                Err(e)
            }
        }
    }

    /// Logs out (PROTOCOL B.6) and forgets the credentials, keeping the device.
    pub async fn logout(&self) -> Result<(), Error> {
        let d = self.session().device;
        let call = Call::new(Method::POST, self.api_url("accounts/logout/")).signed(vec![
            ("guid", d.uuid.clone()),
            ("phone_id", d.phone_id.clone()),
            ("device_id", d.android_id.clone()),
            ("_uuid", d.uuid.clone()),
            ("one_tap_app_login", "true".into()),
        ]);
        let result = self.call(call).await;
        self.update_session(|s| s.clear_credentials());
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.is_session_dead() => Ok(()),
            Err(e) => Err(e),
        }
    }
}
