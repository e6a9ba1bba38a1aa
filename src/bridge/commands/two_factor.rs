//! What the user may answer at the two-factor step, and what the bot says there. A code is
//! submitted with the `verification_method` of its kind: an SMS code as SMS (1), an
//! authenticator code as TOTP (3), a backup code as backup (2). A bare code is taken as the
//! kind the user last asked for (SMS after `sms`/`resend-sms`), else the account's default.

use crate::instagram::http::{TwoFactorMethod, TwoFactorState};
use crate::secret::Secret;

/// One message of the user at the two-factor step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Send me a code by SMS (`sms`, `resend-sms`, `resend`).
    SendSms,
    /// A code of this kind (digits only).
    Code {
        method: TwoFactorMethod,
        code: Secret,
    },
    /// Not understood: the answer to give.
    Unclear(&'static str),
}

const CHOICES: &str = "Send the code, or say which kind it is: `sms <code>`, `totp <code>` \
                       (authenticator app) or `backup <code>`. Send `sms` to get a code by SMS, \
                       or `cancel`.";

/// The kind of a bare code.
pub fn default_method(state: &TwoFactorState, sms_requested: bool) -> TwoFactorMethod {
    if sms_requested || !state.totp_two_factor_on {
        TwoFactorMethod::Sms
    } else {
        TwoFactorMethod::Totp
    }
}

/// Reads a message: `sms`, `resend-sms`, `resend`; `[sms|totp|app|backup] <code>`.
pub fn parse(input: &str, default: TwoFactorMethod) -> Input {
    let lower = input.trim().to_lowercase();
    if matches!(lower.as_str(), "sms" | "resend-sms" | "resend") {
        return Input::SendSms;
    }
    let (method, rest) = match lower.split_once(char::is_whitespace) {
        Some((word, rest)) => match word {
            "sms" => (TwoFactorMethod::Sms, rest),
            "totp" | "app" | "authenticator" => (TwoFactorMethod::Totp, rest),
            "backup" => (TwoFactorMethod::BackupCode, rest),
            _ => (default, lower.as_str()),
        },
        None => match lower.strip_prefix("backup") {
            // `backup12345678`, as the old prompt allowed.
            Some(rest) if !rest.is_empty() => (TwoFactorMethod::BackupCode, rest),
            _ => (default, lower.as_str()),
        },
    };
    let code: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Input::Unclear(
            "The code should be digits. Send the code, or say which kind it is: \
             `sms <code>`, `totp <code>` or `backup <code>`; `sms` to get a code by SMS, \
             or `cancel`.",
        );
    }
    Input::Code {
        method,
        code: Secret::new(code),
    }
}

fn phone(state: &TwoFactorState) -> String {
    state
        .obfuscated_phone_number
        .as_deref()
        .map(|p| format!(" to the number ending in {p}"))
        .unwrap_or_default()
}

/// The first question.
pub fn prompt(state: &TwoFactorState) -> String {
    let how = match (state.totp_two_factor_on, state.sms_two_factor_on) {
        (true, _) => "the code from your authenticator app".to_string(),
        (false, true) => format!("the code Instagram sent by SMS{}", phone(state)),
        _ => "your two-factor code".to_string(),
    };
    format!("Two-factor authentication is on. Send {how}.\n\n{CHOICES}")
}

/// After an SMS was requested.
pub fn sms_sent(state: &TwoFactorState) -> String {
    format!(
        "A code is on its way by SMS{}. Send it here (it is submitted as an SMS code; \
         `totp <code>` for an authenticator code), or `cancel`.",
        phone(state)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(totp: bool, sms: bool) -> TwoFactorState {
        TwoFactorState {
            username: "u".into(),
            two_factor_identifier: "id".into(),
            sms_two_factor_on: sms,
            totp_two_factor_on: totp,
            obfuscated_phone_number: Some("12".into()),
        }
    }

    fn code(method: TwoFactorMethod, code: &str) -> Input {
        Input::Code {
            method,
            code: code.into(),
        }
    }

    #[test]
    fn a_bare_code_is_an_sms_code_once_sms_was_asked_for() {
        let app = state(true, true);
        assert_eq!(default_method(&app, false), TwoFactorMethod::Totp);
        // After `resend-sms` on an account with an authenticator app: SMS, not TOTP.
        assert_eq!(default_method(&app, true), TwoFactorMethod::Sms);
        assert_eq!(
            default_method(&state(false, true), false),
            TwoFactorMethod::Sms
        );
        let after_sms = default_method(&app, true);
        assert_eq!(
            parse("654 321", after_sms),
            code(TwoFactorMethod::Sms, "654321")
        );
    }

    #[test]
    fn an_explicit_kind_wins() {
        let d = TwoFactorMethod::Totp;
        assert_eq!(parse("sms 654321", d), code(TwoFactorMethod::Sms, "654321"));
        assert_eq!(
            parse("SMS 654321", TwoFactorMethod::Sms),
            code(TwoFactorMethod::Sms, "654321")
        );
        assert_eq!(
            parse("totp 123456", TwoFactorMethod::Sms),
            code(TwoFactorMethod::Totp, "123456")
        );
        assert_eq!(
            parse("app 123 456", TwoFactorMethod::Sms),
            code(TwoFactorMethod::Totp, "123456")
        );
        assert_eq!(
            parse("backup 1111 2222", d),
            code(TwoFactorMethod::BackupCode, "11112222")
        );
        assert_eq!(
            parse("backup11112222", d),
            code(TwoFactorMethod::BackupCode, "11112222")
        );
        for word in ["sms", "resend-sms", "Resend"] {
            assert_eq!(parse(word, d), Input::SendSms);
        }
        assert!(matches!(parse("hello", d), Input::Unclear(_)));
        assert!(matches!(parse("totp", d), Input::Unclear(_)));
        assert!(matches!(parse("sms abc", d), Input::Unclear(_)));
    }

    #[test]
    fn the_prompt_lists_the_choices() {
        let p = prompt(&state(true, true));
        assert!(p.contains("authenticator app"), "{p}");
        for choice in [
            "`sms <code>`",
            "`totp <code>`",
            "`backup <code>`",
            "`sms`",
            "`cancel`",
        ] {
            assert!(p.contains(choice), "{choice} in {p}");
        }
        assert!(prompt(&state(false, true)).contains("by SMS to the number ending in 12"));
    }
}
