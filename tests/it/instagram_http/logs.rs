//! Secrets never reach the logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::common::*;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn password_and_session_cookie_never_logged() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests on other threads meet the client's log call sites first, with no subscriber
    // of their own: a first registration racing with the rebuild `set_default` makes can leave
    // a call site cached as uninteresting (seen: every hyper line captured, no "instagram
    // request" line). Asking again now that this thread's subscriber is in place settles it.
    tracing::callsite::rebuild_interest_cache();
    let fake = fake().await;
    let c = client(&fake, "@alice:example.org");
    logged_in_user(c.login("alice", PASSWORD).await.unwrap());
    c.current_user().await.unwrap();
    let _ = c.login("alice", "another secret pw").await;
    let s = c.session();
    tracing::info!(session = ?s, client = ?c, "debug output of the session");
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("instagram request"),
        "the capture works: {logs}"
    );
    assert!(!logs.contains(PASSWORD));
    assert!(!logs.contains("another secret pw"));
    let sid = s.sessionid().unwrap();
    assert!(!logs.contains(&sid), "sessionid leaked");
    let token = s.authorization.unwrap();
    assert!(
        !logs.contains(token.trim_start_matches("Bearer IGT:2:")),
        "authorization leaked"
    );
}
