//! `proxy`: show (password masked), set (`proxy <url>`), turn off (`proxy off`) or go back to
//! the bridge's default (`proxy default`) for the sender's Instagram traffic. A change is
//! stored, then a running account is restarted behind the new proxy and tried once.

use super::CommandContext;
use crate::bridge::error::ApplyError;
use crate::bridge::proxy::{self, Source};
use crate::bridge::proxy_switch::{Switched, switch};
use crate::instagram::proxy::ProxyUrl;

const USAGE: &str = "Use `proxy socks5://host:port`, `proxy socks5h://user:password@host:port` \
                     or `proxy http://host:port` to set one, `proxy off` for none, or \
                     `proxy default` for the bridge's default.";

/// Runs `proxy [url|off|default]`.
pub async fn run(ctx: &CommandContext<'_>, rest: &str) -> Result<(), ApplyError> {
    let arg = rest.trim();
    let mxid = ctx.sender.as_str();
    if arg.is_empty() {
        return show(ctx).await;
    }
    let setting = match proxy::parse_setting(arg) {
        Ok(s) => s,
        // The error never repeats the URL (it may hold a password).
        Err(e) => {
            let text = format!("That is not a proxy I can use: {e}. {USAGE}");
            return ctx.reply(&text).await;
        }
    };
    let effective = match proxy::set(ctx.bridge, mxid, &setting).await {
        Ok(e) => e,
        Err(e) => return ctx.reply(&format!("Could not apply the proxy: {e}")).await,
    };
    tracing::info!(user = mxid, proxy = %shown(effective.proxy.as_ref()), "proxy changed");
    ctx.reply(&format!(
        "Your Instagram traffic now {}.",
        describe(&effective)
    ))
    .await?;
    let text = match switch(ctx.bridge, mxid, effective.proxy.clone()).await {
        Switched::NotLoggedIn => return Ok(()),
        Switched::Working => "Reconnected: Instagram answers.".to_owned(),
        Switched::Failing(e) => format!(
            "Reconnected, but it does not work: {e}. Nothing is sent to Instagram without it; \
             the bridge keeps trying. Fix the proxy or change it with `proxy`."
        ),
        Switched::NotRestarted(e) => format!("Could not reconnect: {e}"),
    };
    ctx.reply(&text).await
}

async fn show(ctx: &CommandContext<'_>) -> Result<(), ApplyError> {
    let text = match proxy::effective(ctx.bridge, ctx.sender.as_str()).await {
        Ok(e) => format!("Your Instagram traffic {}.\n\n{USAGE}", describe(&e)),
        Err(e) => format!("{e}\n\n{USAGE}"),
    };
    ctx.reply(&text).await
}

fn shown(proxy: Option<&ProxyUrl>) -> String {
    proxy.map_or_else(|| "none".to_owned(), ToString::to_string)
}

/// "goes through `…` (your setting)" and the like; the password is masked.
fn describe(e: &proxy::Effective) -> String {
    match (&e.proxy, e.source) {
        (Some(p), Source::User) => format!("goes through the proxy `{p}` (your setting)"),
        (Some(p), Source::Default) => {
            format!("goes through the proxy `{p}` (the bridge's default)")
        }
        (None, Source::User) => "goes to Instagram directly (you turned the proxy off)".into(),
        (None, Source::Default) => "goes to Instagram directly (no proxy)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_is_described_with_its_password_masked() {
        let p = ProxyUrl::parse("socks5h://me:hunter2@10.0.0.1:1080").unwrap();
        let e = |proxy: Option<&ProxyUrl>, source| proxy::Effective {
            proxy: proxy.cloned(),
            source,
        };
        assert_eq!(
            describe(&e(Some(&p), Source::User)),
            "goes through the proxy `socks5h://me:***@10.0.0.1:1080` (your setting)"
        );
        assert_eq!(
            describe(&e(Some(&p), Source::Default)),
            "goes through the proxy `socks5h://me:***@10.0.0.1:1080` (the bridge's default)"
        );
        assert_eq!(
            describe(&e(None, Source::User)),
            "goes to Instagram directly (you turned the proxy off)"
        );
        assert_eq!(
            describe(&e(None, Source::Default)),
            "goes to Instagram directly (no proxy)"
        );
        assert_eq!(shown(Some(&p)), "socks5h://me:***@10.0.0.1:1080");
    }
}
