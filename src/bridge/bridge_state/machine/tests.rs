use super::*;
use crate::bridge::bridge_state::model::{self, UserAction};
use crate::instagram::realtime::DisconnectCause;

const DELAY: Duration = Duration::from_secs(180);

fn machine(policy: StatusNotices) -> Machine {
    let mut m = Machine::new(policy, DELAY);
    m.start();
    m.homeserver_ready();
    m.restored();
    m
}

fn connecting() -> Change {
    Change::Connecting {
        mxid: "@u:x".into(),
        pk: 42,
        username: "someone".into(),
    }
}

/// The state events posted, in order.
fn posted(actions: &[Action]) -> Vec<(String, &'static str)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Post(Key::Global, s) => Some(("global".into(), s.state_event.as_str())),
            Action::Post(Key::Login(m), s) => Some((m.clone(), s.state_event.as_str())),
            _ => None,
        })
        .collect()
}

fn notices(actions: &[Action]) -> Vec<(&'static str, bool)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notice { state, delayed, .. } => Some((state.state_event.as_str(), *delayed)),
            _ => None,
        })
        .collect()
}

fn later(actions: &[Action]) -> Option<u64> {
    actions.iter().find_map(|a| match a {
        Action::NoticeLater { epoch, after, .. } => {
            assert_eq!(*after, DELAY);
            Some(*epoch)
        }
        _ => None,
    })
}

fn drop_connection() -> Change {
    Change::Problem(model::disconnected(DisconnectCause::Closed))
}

#[test]
fn the_bridge_starts_unconfigured_runs_with_a_login_and_falls_back_without() {
    let mut m = Machine::new(StatusNotices::None, DELAY);
    assert_eq!(posted(&m.start()), [("global".into(), "STARTING")]);
    assert!(m.homeserver_ready().is_empty(), "waits for the logins too");
    assert_eq!(posted(&m.restored()), [("global".into(), "UNCONFIGURED")]);
    assert_eq!(
        posted(&m.login("@u:x", 1, connecting())),
        [("@u:x".into(), "CONNECTING"), ("global".into(), "RUNNING")]
    );
    let connected = m.login("@u:x", 1, Change::Connected { backfilling: false });
    let Some(Action::Post(_, state)) = connected.first() else {
        panic!("{connected:?}");
    };
    assert_eq!(state.user_id.as_deref(), Some("@u:x"));
    assert_eq!(state.remote_id.as_deref(), Some("42"));
    assert_eq!(state.remote_name.as_deref(), Some("someone"));
    assert_eq!(
        posted(&m.login("@u:x", 1, Change::Stopped)),
        [
            ("@u:x".into(), "LOGGED_OUT"),
            ("global".into(), "UNCONFIGURED")
        ]
    );
    // Nothing more from a stopped login.
    assert!(m.login("@u:x", 1, drop_connection()).is_empty());
}

#[test]
fn backfilling_then_connected_and_repeats_are_not_posted() {
    let mut m = machine(StatusNotices::Errors);
    m.login("@u:x", 1, connecting());
    assert_eq!(
        posted(&m.login("@u:x", 1, Change::Connected { backfilling: true })),
        [("@u:x".into(), "BACKFILLING")]
    );
    assert_eq!(
        posted(&m.backfill_done("@u:x")),
        [("@u:x".into(), "CONNECTED")]
    );
    assert!(m.backfill_done("@u:x").is_empty());
    assert!(
        m.login("@u:x", 1, Change::Connected { backfilling: false })
            .is_empty()
    );
    assert_eq!(
        m.current("@u:x").map(|s| s.state_event),
        Some(StateEvent::Connected)
    );
}

#[test]
fn a_blip_is_not_told_but_a_lasting_disconnection_is_and_so_is_the_recovery() {
    let mut m = machine(StatusNotices::Errors);
    m.login("@u:x", 1, connecting());
    m.login("@u:x", 1, Change::Connected { backfilling: false });
    // A blip: posted at once, the notice only scheduled, and moot once connected again.
    let blip = m.login("@u:x", 1, drop_connection());
    assert_eq!(posted(&blip), [("@u:x".into(), "TRANSIENT_DISCONNECT")]);
    assert!(notices(&blip).is_empty());
    let first = later(&blip).expect("a later check");
    let back = m.login("@u:x", 1, Change::Connected { backfilling: false });
    assert_eq!(posted(&back), [("@u:x".into(), "CONNECTED")]);
    assert!(notices(&back).is_empty());
    assert!(m.notice_due("@u:x", first).is_empty());
    // A lasting one: still down when the check comes, whatever failed meanwhile.
    let down = m.login("@u:x", 1, drop_connection());
    let second = later(&down).expect("a later check");
    assert_ne!(first, second);
    let refused = m.login("@u:x", 1, Change::Problem(model::refused(3)));
    assert_eq!(posted(&refused), [("@u:x".into(), "TRANSIENT_DISCONNECT")]);
    assert_eq!(later(&refused), Some(second), "the same disconnection");
    assert!(m.notice_due("@u:x", first).is_empty(), "an older check");
    assert_eq!(
        notices(&m.notice_due("@u:x", second)),
        [("TRANSIENT_DISCONNECT", true)]
    );
    assert!(m.notice_due("@u:x", second).is_empty(), "told once");
    let back = m.login("@u:x", 1, Change::Connected { backfilling: false });
    assert_eq!(notices(&back), [("CONNECTED", false)]);
}

#[test]
fn a_lost_session_is_bad_credentials_without_a_notice_or_logged_out() {
    let mut m = machine(StatusNotices::All);
    m.login("@u:x", 1, connecting());
    let dead = crate::instagram::Error::LoginRequired {
        message: "login_required".into(),
        logout_reason: None,
    };
    let lost = m.login("@u:x", 1, Change::Problem(model::auth_probe(Some(&dead))));
    assert_eq!(posted(&lost), [("@u:x".into(), "BAD_CREDENTIALS")]);
    let Some(Action::Post(_, state)) = lost.first() else {
        panic!("{lost:?}");
    };
    assert_eq!(state.error, Some(model::AUTH_ERROR));
    assert_eq!(state.user_action, Some(UserAction::Relogin));
    assert!(notices(&lost).is_empty(), "the logout notice says it");
    assert_eq!(
        posted(&m.login("@u:x", 1, Change::Stopped)),
        [("global".into(), "UNCONFIGURED")]
    );
}

#[test]
fn a_challenge_is_told_at_once_with_errors_and_nothing_is_told_with_none() {
    let challenge = crate::instagram::Error::ChallengeRequired(Box::default());
    let problem = Change::Problem(model::auth_probe(Some(&challenge)));
    let mut m = machine(StatusNotices::Errors);
    m.login("@u:x", 1, connecting());
    assert_eq!(
        notices(&m.login("@u:x", 1, problem.clone())),
        [("BAD_CREDENTIALS", false)]
    );
    let mut quiet = machine(StatusNotices::None);
    quiet.login("@u:x", 1, connecting());
    let actions = quiet.login("@u:x", 1, problem);
    assert!(notices(&actions).is_empty() && later(&actions).is_none());
    let mut all = machine(StatusNotices::All);
    assert_eq!(
        notices(&all.login("@u:x", 1, connecting())),
        [("CONNECTING", false)]
    );
    assert_eq!(
        notices(&all.login("@u:x", 1, drop_connection())),
        [("TRANSIENT_DISCONNECT", false)]
    );
}

#[test]
fn logging_in_again_is_not_a_logout_of_the_old_login() {
    let mut m = machine(StatusNotices::None);
    m.login("@u:x", 1, connecting());
    m.login("@u:x", 1, Change::Connected { backfilling: false });
    // The new login claims its generation before the old one stops.
    m.claim("@u:x", 2);
    assert!(m.login("@u:x", 1, Change::Stopped).is_empty());
    assert_eq!(
        posted(&m.login("@u:x", 2, connecting())),
        [("@u:x".into(), "CONNECTING")]
    );
}

#[test]
fn logging_out_while_a_challenge_waits_is_a_logout() {
    let challenge = crate::instagram::Error::ChallengeRequired(Box::default());
    let mut m = machine(StatusNotices::None);
    m.login("@u:x", 1, connecting());
    m.login(
        "@u:x",
        1,
        Change::Problem(model::auth_probe(Some(&challenge))),
    );
    assert_eq!(
        posted(&m.login("@u:x", 1, Change::Stopped)),
        [
            ("@u:x".into(), "LOGGED_OUT"),
            ("global".into(), "UNCONFIGURED")
        ]
    );
}

#[test]
fn an_older_generation_cannot_touch_a_newer_login() {
    let mut m = machine(StatusNotices::None);
    m.login("@u:x", 1, connecting());
    // Logging in again replaces the login; the old one's stop comes after.
    assert_eq!(
        posted(&m.login("@u:x", 2, connecting())),
        [("@u:x".into(), "CONNECTING")]
    );
    assert!(m.login("@u:x", 1, Change::Stopped).is_empty());
    assert!(m.login("@u:x", 1, connecting()).is_empty());
    assert_eq!(
        posted(&m.login("@u:x", 2, Change::Connected { backfilling: false })),
        [("@u:x".into(), "CONNECTED")]
    );
}
